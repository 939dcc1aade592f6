import Foundation
public import GatewayKit
import Hummingbird
import Policy
import PortcullisCore

/// Turns decisions about one request into `audit.authz.decision` records and records them in the journal.
struct DecisionRecorder: ResourceDecisionRecorder {
    let journal: DecisionJournal
    let clock: WallClock
    let requestID: String
    let principal: Principal?
    let method: String
    let path: String
    let client: AuditClient

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

    /// Records the request's route-level decision.
    func recordRoute(_ decision: Decision) async throws {
        try await self.record(decision, stage: "route", resource: AuditResource(method: self.method, path: self.path), principal: self.principal)
    }

    /// Records a module's decision about one resource, with the same request id. When it cannot, the
    /// module's check throws 503 `AUDIT_UNAVAILABLE` and the module does not act.
    func record(_ decision: Decision, about principal: Principal?, resource: ResourceRef) async throws {
        do {
            try await self.record(
                decision, stage: "resource",
                resource: AuditResource(method: self.method, path: self.path, type: resource.type, id: resource.id, tenant: resource.tenant),
                principal: principal ?? self.principal
            )
        } catch {
            throw Self.unavailable
        }
    }

    static let unavailable = APIError.serviceUnavailable("AUDIT_UNAVAILABLE", "The request cannot be recorded right now; try again later.")

    private func record(_ decision: Decision, stage: String, resource: AuditResource, principal: Principal?) async throws {
        // Built once, as the text the chain stores, here on the request's task.
        let record = PreparedRecord.decision(
            at: self.clock.now, requestID: self.requestID, stage: stage, outcome: decision.outcome.rawValue, reason: decision.reason,
            permission: decision.required.isEmpty ? nil : decision.required.joined(separator: ","), rule: decision.rule,
            policyRevision: decision.policyRevision, actor: AuditActor(principal), resource: resource, client: self.client)
        try await self.journal.record(record)
        GatewayMetrics.decision(stage: stage, outcome: decision.outcome.rawValue, reason: decision.reason)
    }
}
