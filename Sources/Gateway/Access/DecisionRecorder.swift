import Foundation
public import GatewayKit
import Hummingbird
import Policy
import PortcullisCore
import Synchronization

/// Turns decisions about one request into `audit.authz.decision` records and records them in the journal.
///
/// The route decision of an allowed request is held back (``holdRoute(_:)``) and committed with the first
/// resource decision, or by ``settle()``: a read costs one commit, not two. The gateway settles before any
/// handler that is not a read, and before the answer leaves, so nothing acts or answers unrecorded.
struct DecisionRecorder: ResourceDecisionRecorder {
    let journal: DecisionJournal
    let clock: WallClock
    let requestID: String
    let principal: Principal?
    let method: String
    let path: String
    let client: AuditClient
    /// The records held back, shared by every copy of this recorder (the context is copied down the chain).
    private let held = Held()

    /// Records built and not yet handed to the journal, with what their metrics will say once committed.
    private final class Held: Sendable {
        let records = Mutex<[Built]>([])
    }

    private struct Built: Sendable {
        let record: PreparedRecord
        let stage: String
        let outcome: String
        let reason: String
    }

    init(journal: DecisionJournal, clock: WallClock, request: Request, context: GatewayRequestContext) {
        self.journal = journal
        self.clock = clock
        self.requestID = context.requestID.value
        self.principal = context.principal
        self.method = request.method.rawValue
        // A refused path may be anything: keep the record bounded.
        self.path = String((request.head.path.map { $0.split(separator: "?", maxSplits: 1).first.map(String.init) ?? $0 } ?? "").prefix(512))
        self.client = AuditClient(ip: context.clientIP, userAgent: request.headers[.userAgent].map { String($0.prefix(256)) })
    }

    /// Records the request's route-level decision now.
    func recordRoute(_ decision: Decision) async throws {
        try await self.commit([self.routeRecord(decision)])
    }

    /// Holds the route-level decision of an allowed request back until the first resource decision or
    /// ``settle()``.
    func holdRoute(_ decision: Decision) {
        let built = self.routeRecord(decision)
        self.held.records.withLock { $0.append(built) }
    }

    /// Records a module's decision about one resource, with the same request id, together with anything
    /// held back. When it cannot, the module's check throws 503 `AUDIT_UNAVAILABLE` and the module does not act.
    func record(_ decision: Decision, about principal: Principal?, resource: ResourceRef) async throws {
        let built = self.build(
            decision, stage: "resource",
            resource: AuditResource(method: self.method, path: self.path, type: resource.type, id: resource.id, tenant: resource.tenant),
            principal: principal ?? self.principal)
        let records = self.held.records.withLock { held in
            defer { held.removeAll() }
            return held + [built]
        }
        do {
            try await self.commit(records)
        } catch {
            throw Self.unavailable
        }
    }

    /// Commits what is held back; 503 `AUDIT_UNAVAILABLE` when it cannot.
    func settle() async throws {
        let records = self.held.records.withLock { held in
            defer { held.removeAll() }
            return held
        }
        guard !records.isEmpty else { return }
        do {
            try await self.commit(records)
        } catch {
            throw Self.unavailable
        }
    }

    static let unavailable = APIError.serviceUnavailable("AUDIT_UNAVAILABLE", "The request cannot be recorded right now; try again later.")

    private func routeRecord(_ decision: Decision) -> Built {
        self.build(decision, stage: "route", resource: AuditResource(method: self.method, path: self.path), principal: self.principal)
    }

    /// Built once, as the text the chain stores, here on the request's task.
    private func build(_ decision: Decision, stage: String, resource: AuditResource, principal: Principal?) -> Built {
        let record = PreparedRecord.decision(
            at: self.clock.now, requestID: self.requestID, stage: stage, outcome: decision.outcome.rawValue, reason: decision.reason,
            permission: decision.required.isEmpty ? nil : decision.required.joined(separator: ","), rule: decision.rule,
            policyRevision: decision.policyRevision, actor: AuditActor(principal), resource: resource, client: self.client)
        return Built(record: record, stage: stage, outcome: decision.outcome.rawValue, reason: decision.reason)
    }

    private func commit(_ records: [Built]) async throws {
        try await self.journal.record(records.map(\.record))
        for built in records {
            GatewayMetrics.decision(stage: built.stage, outcome: built.outcome, reason: built.reason)
        }
    }
}
