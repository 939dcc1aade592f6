import Foundation
public import GatewayKit
public import Logging
public import Messaging
public import PortcullisCore
public import Storage

/// The orchestrator's reaction to the flow repository's lifecycle events (the seed's "Starting a flow"):
///
/// - `flow.starting`: one work queue per node, the flow's token (through ``FlowCredentials``), then
///   `flow.started {id, lifecycleVersion, flowToken{accountId, clientId}}`; a flow that cannot start gets
///   `flow.failed {id, lifecycleVersion, reason}` instead.
/// - `flow.stopping`: the queues go with their messages, the token is revoked, then `flow.stopped {id,
///   lifecycleVersion}`, also for a flow the orchestrator never saw.
///
/// Each event is handled in one transaction that holds the flow's lifecycle lock exclusively (emits and
/// webhook calls hold it shared, and wait behind a round that asks for it: `KeyedLock`) and the flow's row
/// in `orchestrator_flows` (so two replicas never work on one flow at once), marks the event handled (``Delivery/once(_:)``), changes the
/// token and the queues, and publishes the answer: all of it or nothing. An event of an older round than
/// the last one handled for its flow (`lifecycleVersion`, which the repository raises with every start
/// and stop) changes nothing, so redeliveries and late retries are harmless. Every answer and audit record
/// carries the request id of the event it answers.
public struct Orchestrator: Sendable {
    public static let group = "orchestrator"
    public static let serviceName = "orchestrator"
    public static let patterns = ["flow.starting", "flow.stopping"]
    static let actor = AuditActor(sub: nil, type: "service", tenant: nil, tokenID: nil, act: nil)
    static let rows = FlowRoundRow(table: "orchestrator_flows")

    let database: any Database
    let messaging: Messaging
    let credentials: @Sendable () throws -> any FlowCredentials
    let retry: RetryPolicy
    let clock: WallClock
    let logger: Logger

    public init(
        database: any Database, messaging: Messaging, credentials: @escaping @Sendable () throws -> any FlowCredentials, retry: RetryPolicy,
        clock: WallClock, logger: Logger
    ) {
        self.database = database
        self.messaging = messaging
        self.credentials = credentials
        self.retry = retry
        self.clock = clock
        self.logger = logger
    }

    /// The event being handled, and what its answers carry.
    struct Round {
        let event: Event
        let flowID: String
        let version: Int64
    }

    public func handle(_ event: Event, _ delivery: Delivery) async throws {
        guard let flowID = FlowAnnouncement.flowID(of: event) else {
            // Nothing to answer without a flow id: acknowledged, and left in the log for an operator.
            self.logger.error("lifecycle event without a flow id", metadata: ["event.id": .string(event.id), "event.name": .string(event.name)])
            return
        }
        let round = Round(event: event, flowID: flowID, version: FlowAnnouncement.round(of: event))
        let credentials = try self.credentials()
        do {
            try await delivery.once { connection in
                // The lifecycle lock before anything of the flow's: writers into its queues hold it shared and
                // wait behind this round once it asks (see `KeyedLock`), then the flow's row, then its queues.
                try await connection.hold(.flowLifecycle, key: flowID, mode: .exclusive)
                guard try await self.holdFlow(round, on: connection) else {
                    self.logger.debug("stale lifecycle event ignored", metadata: ["event.id": .string(event.id), "flow.id": .string(flowID)])
                    return
                }
                switch event.name {
                case "flow.starting": try await self.start(round, credentials: credentials, on: connection)
                case "flow.stopping": try await self.stop(round, credentials: credentials, on: connection)
                default: return
                }
            }
        } catch {
            // A passing fault (the database): retried with backoff; a start is reported failed on its last try.
            guard event.name == "flow.starting", delivery.attempts >= self.retry.maxAttempts else { throw error }
            self.logger.error("starting a flow failed on every try", metadata: ["flow.id": .string(flowID), "error": "\(error)"])
            try await delivery.once { connection in
                try await self.fail(round, reason: "The flow could not be provisioned.", on: connection)
            }
        }
    }

    /// Holds the flow's row until the transaction ends (creating it on first sight) and answers whether
    /// the event belongs to the current round or a newer one.
    func holdFlow(_ round: Round, on connection: any DatabaseConnection) async throws -> Bool {
        try await Self.rows.hold(round.flowID, on: connection).round <= round.version
    }

    func start(_ round: Round, credentials: any FlowCredentials, on connection: any DatabaseConnection) async throws {
        guard let flow = FlowAnnouncement.read(round.event) else {
            return try await self.fail(round, reason: "The flow in the flow.starting event could not be read.", on: connection)
        }
        let nodes = flow.nodeIDs
        guard !nodes.isEmpty else { return try await self.fail(round, reason: "The flow has no nodes.", on: connection) }
        let credential: FlowCredential
        do {
            credential = try await credentials.provision(flowID: round.flowID, tenant: flow.tenant, on: connection)
        } catch let refused as FlowCredentialsRefused {
            return try await self.fail(round, reason: refused.reason, on: connection)
        }
        let now = Timestamp.milliseconds(self.clock.now)
        try await connection.execute("DELETE FROM orchestrator_queues WHERE flow_id = \(round.flowID)")
        // Queue names are the same in every run: whatever an earlier run left (a webhook call that raced its
        // stop) is not this run's work.
        let queueNames = nodes.map { FlowQueueNames.messages(flowID: round.flowID, nodeID: $0) }
        try await self.messaging.store.removeQueues(queueNames, on: connection)
        try await self.messaging.store.provisionQueues(queueNames, round: round.version, on: connection)
        for node in nodes {
            let queue = FlowQueueNames.messages(flowID: round.flowID, nodeID: node)
            try await connection.execute(
                "INSERT INTO orchestrator_queues (queue, flow_id, node_id, created_at) VALUES (\(queue), \(round.flowID), \(node), \(now))")
        }
        try await connection.execute("DELETE FROM orchestrator_edges WHERE flow_id = \(round.flowID)")
        for edge in flow.edges {
            try await connection.execute(
                "INSERT INTO orchestrator_edges (flow_id, source, target) VALUES (\(round.flowID), \(edge.source), \(edge.target))")
        }
        try await self.record(round, state: "started", credential: credential, on: connection)
        let owners = try JSONCoding.string(flow.ownerIDs + [credential.accountID])
        try await connection.execute(
            "UPDATE orchestrator_flows SET owners = \(owners), tenant = \(flow.tenant) WHERE flow_id = \(round.flowID)")
        // The audit record names the account, not its client id: only those who control the flow see that.
        try await self.publish(
            "audit.flow.token_created", round, ["accountId": .string(credential.accountID), "queues": .int(Int64(nodes.count))], on: connection)
        try await self.publish("flow.started", round, ["flowToken": try JSONValue(encoding: credential)], on: connection)
        self.logger.info("flow started", metadata: ["flow.id": .string(round.flowID), "request.id": .string(round.event.headers.requestID ?? "")])
    }

    func stop(_ round: Round, credentials: any FlowCredentials, on connection: any DatabaseConnection) async throws {
        let revoked = try await credentials.revoke(flowID: round.flowID, on: connection)
        let queues = try await connection.query("SELECT queue FROM orchestrator_queues WHERE flow_id = \(round.flowID)").map {
            try $0.string("queue")
        }
        try await self.messaging.store.removeQueues(queues, on: connection)
        try await connection.execute("DELETE FROM orchestrator_queues WHERE flow_id = \(round.flowID)")
        try await connection.execute("DELETE FROM orchestrator_edges WHERE flow_id = \(round.flowID)")
        try await connection.execute("UPDATE orchestrator_flows SET owners = NULL WHERE flow_id = \(round.flowID)")
        try await self.record(round, state: "stopped", credential: nil, on: connection)
        if let revoked {
            try await self.publish("audit.flow.token_revoked", round, ["accountId": .string(revoked.accountID)], on: connection)
        }
        try await self.publish("flow.stopped", round, [:], on: connection)
        self.logger.info("flow stopped", metadata: ["flow.id": .string(round.flowID), "request.id": .string(round.event.headers.requestID ?? "")])
    }

    func fail(_ round: Round, reason: String, on connection: any DatabaseConnection) async throws {
        try await self.record(round, state: "failed", credential: nil, on: connection)
        try await self.publish("flow.failed", round, ["reason": .string(reason)], on: connection)
        self.logger.warning("flow failed to start", metadata: ["flow.id": .string(round.flowID), "reason": .string(reason)])
    }

    private func record(_ round: Round, state: String, credential: FlowCredential?, on connection: any DatabaseConnection) async throws {
        try await connection.execute(
            """
            UPDATE orchestrator_flows SET state = \(state), version = \(round.version), account_id = \(credential?.accountID),
                client_id = \(credential?.clientID)
            WHERE flow_id = \(round.flowID)
            """
        )
    }

    /// An answer (or audit record) in the chain of the round's event: same request id and tenant, the
    /// flow's id and round.
    private func publish(_ name: String, _ round: Round, _ fields: [String: JSONValue], on connection: any DatabaseConnection) async throws {
        var payload = fields
        payload["id"] = .string(round.flowID)
        payload["lifecycleVersion"] = .int(round.version)
        if name.hasPrefix("audit.") {
            payload["actor"] = try JSONValue(encoding: Self.actor)
            payload["resource"] = ["type": "flow", "id": .string(round.flowID), "tenant": round.event.headers.tenant.map(JSONValue.string) ?? .null]
            payload["flowId"] = .string(round.flowID)
        }
        let event = try Event(
            name: name, serviceName: Self.serviceName, payload: JSONValue.object(payload), requestID: round.event.headers.requestID,
            tenant: round.event.headers.tenant, now: self.clock.now)
        try await self.messaging.bus.publish(event, on: connection)
    }
}
