import Foundation
public import GatewayKit
public import Logging
public import Messaging
public import PortcullisCore
public import Storage

/// The orchestrator's reaction to the flow repository's lifecycle events (the seed's "Starting a flow"):
///
/// - `flow.starting`: one work queue per node, the flow's token (through ``FlowCredentials``), then
///   `flow.started {id, flowToken{accountId, clientId}}`; a flow that cannot start gets `flow.failed
///   {id, reason}` instead.
/// - `flow.stopping`: the queues go with their messages, the token is revoked, then `flow.stopped {id}`,
///   also for a flow the orchestrator never saw.
///
/// Each event is handled once per group (``Delivery/once(_:)``, in the transaction that publishes the
/// answer), and an event older than the last one applied to its flow changes nothing, so redeliveries and
/// late retries are harmless. Every answer carries the request id of the event it answers.
public struct Orchestrator: Sendable {
    public static let group = "orchestrator"
    public static let serviceName = "orchestrator"
    public static let patterns = ["flow.starting", "flow.stopping"]

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

    /// What the orchestrator reads of a flow in a lifecycle event.
    struct FlowSummary: Decodable {
        struct Graph: Decodable { let nodes: [Node] }
        struct Node: Decodable { let id: String }
        let id: String
        let tenant: String?
        let graph: Graph?
    }

    public func handle(_ event: Event, _ delivery: Delivery) async throws {
        guard case .object(let fields) = event.payload, case .string(let flowID)? = fields["id"], !flowID.isEmpty else {
            // Nothing to answer without a flow id: acknowledged, and left in the log for an operator.
            self.logger.error("lifecycle event without a flow id", metadata: ["event.id": .string(event.id), "event.name": .string(event.name)])
            return
        }
        let eventAt = Timestamp.parse(event.headers.createdAt).map(Timestamp.milliseconds) ?? Timestamp.milliseconds(self.clock.now)
        if try await self.isStale(flowID: flowID, eventAt: eventAt) {
            self.logger.debug("stale lifecycle event ignored", metadata: ["event.id": .string(event.id), "flow.id": .string(flowID)])
            _ = try await delivery.once { _ in }
            return
        }
        switch event.name {
        case "flow.starting": try await self.start(flowID: flowID, event: event, eventAt: eventAt, delivery: delivery)
        case "flow.stopping": try await self.stop(flowID: flowID, event: event, eventAt: eventAt, delivery: delivery)
        default: return
        }
    }

    /// Whether a newer lifecycle event than this one was applied to the flow already.
    func isStale(flowID: String, eventAt: Int64) async throws -> Bool {
        guard let row = try await self.database.first("SELECT event_at FROM orchestrator_flows WHERE flow_id = \(flowID)") else { return false }
        return try row.int("event_at") > eventAt
    }

    func start(flowID: String, event: Event, eventAt: Int64, delivery: Delivery) async throws {
        let flow: FlowSummary
        do {
            flow = try JSONCoding.decode(FlowSummary.self, from: JSONCoding.string(event.payload))
        } catch {
            return try await self.fail(flowID: flowID, reason: "The flow in the flow.starting event could not be read.", event: event, delivery)
        }
        let nodes = flow.graph?.nodes.map(\.id) ?? []
        guard !nodes.isEmpty else { return try await self.fail(flowID: flowID, reason: "The flow has no nodes.", event: event, delivery) }
        let credential: FlowCredential
        do {
            credential = try await self.credentials().provision(flowID: flowID, tenant: flow.tenant)
        } catch let refused as FlowCredentialsRefused {
            return try await self.fail(flowID: flowID, reason: refused.reason, event: event, delivery)
        } catch {
            // A passing fault (the database): retried with backoff, and reported as a failure on the last try.
            guard delivery.attempts >= self.retry.maxAttempts else { throw error }
            self.logger.error("provisioning a flow failed", metadata: ["flow.id": .string(flowID), "error": "\(error)"])
            return try await self.fail(flowID: flowID, reason: "The flow's credentials could not be provisioned.", event: event, delivery)
        }
        let now = Timestamp.milliseconds(self.clock.now)
        let started = try self.answer(
            "flow.started", to: event,
            payload: ["id": .string(flowID), "flowToken": try JSONValue(encoding: credential)])
        try await delivery.once { connection in
            try await connection.execute("DELETE FROM orchestrator_queues WHERE flow_id = \(flowID)")
            for node in Set(nodes).sorted() {
                let queue = FlowQueueNames.messages(flowID: flowID, nodeID: node)
                try await connection.execute(
                    "INSERT INTO orchestrator_queues (queue, flow_id, node_id, created_at) VALUES (\(queue), \(flowID), \(node), \(now))")
            }
            try await self.record(flowID: flowID, state: "started", eventAt: eventAt, credential: credential, on: connection)
            try await self.messaging.bus.publish(started, on: connection)
        }
        self.logger.info("flow started", metadata: ["flow.id": .string(flowID), "request.id": .string(event.headers.requestID ?? "")])
    }

    func stop(flowID: String, event: Event, eventAt: Int64, delivery: Delivery) async throws {
        // Revoked first and idempotently: a crash after this retries the whole step.
        try await self.credentials().revoke(flowID: flowID)
        let stopped = try self.answer("flow.stopped", to: event, payload: ["id": .string(flowID)])
        let store = self.messaging.store
        try await delivery.once { connection in
            let queues = try await connection.query("SELECT queue FROM orchestrator_queues WHERE flow_id = \(flowID)").map { try $0.string("queue") }
            try await store.removeQueues(queues, on: connection)
            try await connection.execute("DELETE FROM orchestrator_queues WHERE flow_id = \(flowID)")
            try await self.record(flowID: flowID, state: "stopped", eventAt: eventAt, credential: nil, on: connection)
            try await self.messaging.bus.publish(stopped, on: connection)
        }
        self.logger.info("flow stopped", metadata: ["flow.id": .string(flowID), "request.id": .string(event.headers.requestID ?? "")])
    }

    func fail(flowID: String, reason: String, event: Event, _ delivery: Delivery) async throws {
        let failed = try self.answer("flow.failed", to: event, payload: ["id": .string(flowID), "reason": .string(reason)])
        try await delivery.once { connection in
            try await self.messaging.bus.publish(failed, on: connection)
        }
        self.logger.warning("flow failed to start", metadata: ["flow.id": .string(flowID), "reason": .string(reason)])
    }

    private func record(flowID: String, state: String, eventAt: Int64, credential: FlowCredential?, on connection: any DatabaseConnection)
        async throws
    {
        try await connection.execute(
            """
            INSERT INTO orchestrator_flows (flow_id, state, event_at, account_id, client_id)
            VALUES (\(flowID), \(state), \(eventAt), \(credential?.accountID), \(credential?.clientID))
            ON CONFLICT (flow_id) DO UPDATE SET state = excluded.state, event_at = excluded.event_at,
                account_id = excluded.account_id, client_id = excluded.client_id
            """
        )
    }

    /// An answer in the chain of `event`: same request id and tenant.
    private func answer(_ name: String, to event: Event, payload: JSONValue) throws -> Event {
        try Event(
            name: name, serviceName: Self.serviceName, payload: payload, requestID: event.headers.requestID, tenant: event.headers.tenant,
            now: self.clock.now)
    }
}
