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

    /// Records built and not yet handed to the journal, with what their metrics will say once committed;
    /// and whether a commit of held records failed, after which nothing of this request may answer.
    private final class Held: Sendable {
        struct State {
            var records: [Built] = []
            var lost = false
            /// The id of this request's last resource-level deny that was committed, for its refusal to name.
            var lastDeny: String?
        }
        let state = Mutex(State())

        /// Takes what is held, with `next` after it; throws when held records were lost before.
        func take(adding next: Built? = nil) throws -> [Built] {
            try self.state.withLock { state in
                if state.lost { throw DecisionRecorder.unavailable }
                defer { state.records.removeAll() }
                return state.records + (next.map { [$0] } ?? [])
            }
        }

        func markLost() {
            self.state.withLock { $0.lost = true }
        }
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
        self.path = PathCanonicalizer.pathPart(of: request.head.path ?? "").utf8Prefix(512)
        self.client = AuditClient(ip: context.clientIP, userAgent: request.headers[.userAgent].map { $0.utf8Prefix(256) })
    }

    /// Records the request's route-level decision now.
    /// Records the route-level decision now; returns the record's id.
    func recordRoute(_ decision: Decision) async throws -> String {
        let built = self.routeRecord(decision)
        try await self.commit([built])
        return built.record.id
    }

    /// Holds the route-level decision of an allowed request back until the first resource decision or
    /// ``settle()``.
    func holdRoute(_ decision: Decision) {
        let built = self.routeRecord(decision)
        self.held.state.withLock { $0.records.append(built) }
    }

    /// Records a module's decision about one resource, with the same request id, together with anything
    /// held back. When it cannot, the module's check throws 503 `AUDIT_UNAVAILABLE` and the module does not act.
    func record(_ decision: Decision, about principal: Principal?, resource: ResourceRef) async throws {
        let built = self.build(
            decision, stage: "resource",
            resource: AuditResource(method: self.method, path: self.path, type: resource.type, id: resource.id, tenant: resource.tenant),
            principal: principal ?? self.principal)
        try await self.commitHeld(self.held.take(adding: built))
        if decision.outcome == .deny { self.held.state.withLock { $0.lastDeny = built.record.id } }
    }

    /// The record id of this request's last committed resource-level deny.
    var lastDenyID: String? { self.held.state.withLock { $0.lastDeny } }

    /// Commits what is held back; 503 `AUDIT_UNAVAILABLE` when it cannot, and from then on for this request
    /// (a handler that swallowed the failure of a check still cannot answer without its route record).
    func settle() async throws {
        let records = try self.held.take()
        guard !records.isEmpty else { return }
        try await self.commitHeld(records)
    }

    private func commitHeld(_ records: [Built]) async throws {
        do {
            try await self.commit(records)
        } catch {
            // A route record among them is gone: the request must not answer as if it had been recorded.
            if records.contains(where: { $0.stage == "route" }) { self.held.markLost() }
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
            policyRevision: decision.policyRevision, actor: AuditActor(principal), resource: resource, client: self.client,
            permissions: principal?.permissionSet)
        return Built(record: record, stage: stage, outcome: decision.outcome.rawValue, reason: decision.reason)
    }

    private func commit(_ records: [Built]) async throws {
        try await self.journal.record(records.map(\.record))
        for built in records {
            GatewayMetrics.decision(stage: built.stage, outcome: built.outcome, reason: built.reason)
        }
    }
}
