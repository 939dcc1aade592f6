import Foundation
public import Logging
public import Messaging
public import PortcullisCore
public import Storage

/// The flows webhooks serve, kept from the lifecycle events as the seed describes: `flow.starting`
/// records the flow (not yet receiving), `flow.started` opens it, `flow.stopping` closes it. Each event is
/// handled once (``Delivery/once(_:)``) holding the flow's row, and an event of an older round than the
/// row's is ignored; the rows are in the database, so the view survives a restart.
public struct WebhookFlows: Sendable {
    public static let group = "webhooks"
    public static let patterns = ["flow.starting", "flow.started", "flow.stopping"]

    let database: any Database
    let logger: Logger

    public init(database: any Database, logger: Logger) {
        self.database = database
        self.logger = logger
    }

    /// What the module reads of a flow in `flow.starting`.
    struct Starting: Decodable {
        struct Graph: Decodable {
            struct Node: Decodable { let id: String }
            struct Edge: Decodable { let target: String }
            let nodes: [Node]
            let edges: [Edge]?
        }
        struct Owner: Decodable { let id: String }
        struct Settings: Decodable {
            struct Webhooks: Decodable {
                let requireWebhookAuth: Bool?
                let hmacHeader: String?
                let hmacAlgorithm: String?
            }
            let webhooks: Webhooks?
        }
        let id: String
        let tenant: String?
        let cron: String?
        let owners: [Owner]?
        let graph: Graph?
        let flowSettings: Settings?
        let sealedHmacSecret: String?
        let lifecycleVersion: Int64?

        /// The first node: the first in graph order that no edge leads to (else the first).
        var firstNode: String? {
            let targets = Set(self.graph?.edges?.map(\.target) ?? [])
            return self.graph?.nodes.first { !targets.contains($0.id) }?.id ?? self.graph?.nodes.first?.id
        }
    }

    public func handle(_ event: Event, _ delivery: Delivery) async throws {
        guard case .object(let fields) = event.payload, case .string(let flowID)? = fields["id"], !flowID.isEmpty else {
            self.logger.error("lifecycle event without a flow id", metadata: ["event.id": .string(event.id)])
            return
        }
        let version: Int64 = if case .int(let number)? = fields["lifecycleVersion"] { number } else { 0 }
        let starting: Starting? = event.name == "flow.starting" ? try? JSONCoding.decode(Starting.self, from: JSONCoding.string(event.payload)) : nil
        try await delivery.once { connection in
            let current = try await self.hold(flowID, on: connection)
            guard version >= (current ?? -1) else { return }
            switch event.name {
            case "flow.starting":
                guard let starting else { return }
                try await self.record(starting, version: version, on: connection)
            case "flow.started":
                try await connection.execute(
                    "UPDATE webhook_flows SET state = 'active' WHERE flow_id = \(flowID) AND version = \(version) AND state = 'starting'")
            case "flow.stopping":
                try await connection.execute("UPDATE webhook_flows SET state = 'stopped', version = \(version) WHERE flow_id = \(flowID)")
            default:
                return
            }
        }
    }

    /// The row's round, holding the row until the transaction ends; nil for a flow never seen.
    private func hold(_ flowID: String, on connection: any DatabaseConnection) async throws -> Int64? {
        let lock: SQLQuery = connection.dialect == .postgres ? " FOR UPDATE" : ""
        return try await connection.first("SELECT version FROM webhook_flows WHERE flow_id = \(flowID)\(lock)").map { try $0.int("version") }
    }

    private func record(_ flow: Starting, version: Int64, on connection: any DatabaseConnection) async throws {
        let queue = flow.firstNode.map { FlowQueueNames.messages(flowID: flow.id, nodeID: $0) }
        let owners = try JSONCoding.string((flow.owners ?? []).map(\.id))
        let settings = flow.flowSettings?.webhooks
        let secret: SQLValue = flow.sealedHmacSecret.flatMap { Data(base64Encoded: $0) }.map { .blob(Array($0)) } ?? .null
        try await connection.execute(
            """
            INSERT INTO webhook_flows (flow_id, state, version, queue, scheduled, tenant, owners, require_auth, hmac_header, hmac_algorithm, sealed_secret)
            VALUES (\(flow.id), 'starting', \(version), \(queue), \(flow.cron == nil ? 0 : 1), \(flow.tenant), \(owners),
                \(settings?.requireWebhookAuth == true ? 1 : 0), \(settings?.hmacHeader), \(settings?.hmacAlgorithm), \(secret))
            ON CONFLICT (flow_id) DO UPDATE SET state = excluded.state, version = excluded.version, queue = excluded.queue,
                scheduled = excluded.scheduled, tenant = excluded.tenant, owners = excluded.owners, require_auth = excluded.require_auth,
                hmac_header = excluded.hmac_header, hmac_algorithm = excluded.hmac_algorithm, sealed_secret = excluded.sealed_secret
            """
        )
    }

    /// The flow `flowID` as the module knows it; nil when it never heard of it.
    public func find(_ flowID: String) async throws -> WebhookFlow? {
        guard
            let row = try await self.database.first(
                """
                SELECT flow_id, state, version, queue, scheduled, tenant, owners, require_auth, hmac_header, hmac_algorithm, sealed_secret
                FROM webhook_flows WHERE flow_id = \(flowID)
                """
            )
        else { return nil }
        return WebhookFlow(
            flowID: try row.string("flow_id"), state: WebhookFlow.State(rawValue: try row.string("state")) ?? .stopped,
            version: try row.int("version"), queue: try row.optionalString("queue"), scheduled: try row.int("scheduled") != 0,
            tenant: try row.optionalString("tenant"),
            owners: try row.optionalString("owners").map { try JSONCoding.decode([String].self, from: $0) } ?? [],
            requireAuth: try row.int("require_auth") != 0, hmacHeader: try row.optionalString("hmac_header"),
            hmacAlgorithm: try row.optionalString("hmac_algorithm"), sealedSecret: try row.optionalBytes("sealed_secret"))
    }
}
