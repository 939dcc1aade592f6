import Foundation
public import Policy
public import PortcullisCore
public import Storage

/// Who may use a running flow's step queues (API.md §6): a caller holding `queues.consume` (the route's
/// rule) of the flow's tenant whose own account owns the flow, as the flow's owners stood when it started
/// (owners change only while a flow is at rest), or the flow's own token account. Owning through the
/// tenant is not enough: it would let one flow's token read every flow of its tenant. Decided by the ``Authorizer`` and recorded; a step that
/// is not running, or not the caller's, answers 404 the same way and leaves the same record.
public struct FlowQueueAccess: Sendable {
    public static let notFound = APIError.notFound("No running flow step found")

    /// A step of a running flow, as the queue API uses it.
    public struct Step: Sendable {
        public let flowID: String
        public let nodeID: String
        public let queue: String
        /// The run (the flow's round) the caller was checked against.
        public let round: Int64
        /// The queues of the nodes this step's edges lead to.
        public let targets: [(nodeID: String, queue: String)]
    }

    let database: any Database
    let policies: PolicyStore

    public init(database: any Database, policies: PolicyStore) {
        self.database = database
        self.policies = policies
    }

    /// Whether the flow still runs the run `round` the caller was checked against (not merely runs: a
    /// restarted flow is another run, maybe with other owners).
    ///
    /// - Parameter holdingRow: hold the flow's row (shared) until the transaction ends, so that a stop, which
    ///   removes the queues holding the row for update, waits for the caller's enqueue or comes first. Only
    ///   inside a transaction that holds the flow's lifecycle lock (shared) already: outside a transaction the
    ///   row's lock would end with the statement, and without the lifecycle lock a stream of such locks
    ///   could hold a stop off (see `KeyedLock`).
    public func stillRunning(_ step: Step, on connection: any DatabaseConnection, holdingRow: Bool) async throws -> Bool {
        let lock: SQLQuery = holdingRow && connection.dialect == .postgres ? " FOR SHARE" : ""
        let row = try await connection.first("SELECT state, version FROM orchestrator_flows WHERE flow_id = \(step.flowID)\(lock)")
        return try row?.string("state") == "started" && row?.int("version") == step.round
    }

    public func step(flowID: String, nodeID: String, caller: Principal, decisions: any ResourceDecisionRecorder) async throws -> Step {
        let authorizer = self.policies.current.authorizer
        let resource = ResourceRef(type: "flow-step", id: "\(flowID.utf8Prefix(64))/\(nodeID.utf8Prefix(64))", tenant: nil)
        if let row = try await self.database.first(
            """
            SELECT f.owners, f.tenant, f.version, q.queue FROM orchestrator_flows f JOIN orchestrator_queues q ON q.flow_id = f.flow_id
            WHERE f.flow_id = \(flowID) AND f.state = 'started' AND q.node_id = \(nodeID)
            """
        ), let ownersText = try row.optionalString("owners") {
            let owners = Set(try JSONCoding.decode([String].self, from: ownersText))
            let tenant = try row.optionalString("tenant")
            // Tenant isolation before ownership, as for flows: an owner moved to another tenant is out.
            let sameTenant = authorizer.admits(caller, toTenant: tenant)
            // Owned by the caller's own account (the flow's token, or a user or component named as an owner):
            // a tenant owner does not make every account of the tenant a consumer, or one flow's token
            // would read every flow of its tenant.
            let decision = authorizer.decide(caller, platform: "all", ownedBy: owners.subtracting(caller.tenant.map { [$0] } ?? []))
            if sameTenant && decision.allowed {
                try await authorizer.check(decision, about: nil, on: resource, recordingTo: decisions)
                let targets = try await self.database.query(
                    """
                    SELECT e.target, q.queue FROM orchestrator_edges e
                    JOIN orchestrator_queues q ON q.flow_id = e.flow_id AND q.node_id = e.target
                    WHERE e.flow_id = \(flowID) AND e.source = \(nodeID) ORDER BY e.target
                    """
                ).map { (nodeID: try $0.string("target"), queue: try $0.string("queue")) }
                return Step(flowID: flowID, nodeID: nodeID, queue: try row.string("queue"), round: try row.int("version"), targets: targets)
            }
        }
        let hidden = Decision(outcome: .deny, reason: "NOT_VISIBLE", required: ["all"], policyRevision: authorizer.revision)
        try await authorizer.check(hidden, about: nil, on: resource, recordingTo: decisions)
        throw Self.notFound
    }
}
