import Foundation
public import Logging
public import Messaging
public import PortcullisCore
public import Storage

/// The flows webhooks serve, kept from the lifecycle events as the seed describes: `flow.starting`
/// records the flow (not yet receiving), `flow.started` opens it, `flow.stopping` closes it. Each event is
/// handled once (``Delivery/once(_:)``) holding the flow's row (made on first sight), an event of an older
/// round than the row's is ignored, and a `flow.started` that overtook its `flow.starting` waits for it
/// (retried). The rows are in the database, so the view survives a restart.
public struct WebhookFlows: Sendable {
    public static let group = "webhooks"
    public static let patterns = ["flow.starting", "flow.started", "flow.stopping"]

    let database: any Database
    let logger: Logger

    public init(database: any Database, logger: Logger) {
        self.database = database
        self.logger = logger
    }

    static let rows = FlowRoundRow(table: "webhook_flows", placeholder: "scheduled = 0, require_auth = 0")

    public func handle(_ event: Event, _ delivery: Delivery) async throws {
        let announcement = event.name == "flow.starting" ? FlowAnnouncement.read(event) : nil
        try await Self.rows.follow(event, delivery, logger: self.logger) { step, connection in
            let (flowID, version, current, state) = (step.flowID, step.round, step.held.round, step.held.state)
            switch event.name {
            case "flow.starting":
                guard let announcement else { return }
                try await self.record(announcement, version: version, on: connection)
            case "flow.started":
                // Its flow.starting first: a started flow without its settings could not check a call.
                guard version == current, state == "starting" else { throw FlowRoundRow.EarlierEventPending() }
                try await connection.execute("UPDATE webhook_flows SET state = 'active' WHERE flow_id = \(flowID)")
            case "flow.stopping":
                // Also for a round not seen yet: a late start of that round must not open the flow again.
                try await connection.execute("UPDATE webhook_flows SET state = 'stopped', version = \(version) WHERE flow_id = \(flowID)")
            default:
                return
            }
        }
    }

    private func record(_ flow: FlowAnnouncement, version: Int64, on connection: any DatabaseConnection) async throws {
        let queue = flow.firstNodeID.map { FlowQueueNames.messages(flowID: flow.id, nodeID: $0) }
        let owners = try JSONCoding.string(flow.ownerIDs)
        let settings = flow.webhooks
        let secret: SQLValue = flow.sealedSecret.map { .blob($0) } ?? .null
        try await connection.execute(
            """
            UPDATE webhook_flows SET state = 'starting', version = \(version), queue = \(queue), scheduled = \(flow.cron == nil ? 0 : 1),
                tenant = \(flow.tenant), owners = \(owners), require_auth = \(settings?.requireWebhookAuth == true ? 1 : 0),
                hmac_header = \(settings?.hmacHeader), hmac_algorithm = \(settings?.hmacAlgorithm), sealed_secret = \(secret)
            WHERE flow_id = \(flow.id)
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
            round: try row.int("version"), queue: try row.optionalString("queue"), scheduled: try row.int("scheduled") != 0,
            tenant: try row.optionalString("tenant"),
            owners: try row.optionalString("owners").map { try JSONCoding.decode([String].self, from: $0) } ?? [],
            requireAuth: try row.int("require_auth") != 0, hmacHeader: try row.optionalString("hmac_header"),
            hmacAlgorithm: try row.optionalString("hmac_algorithm"), sealedSecret: try row.optionalBytes("sealed_secret"))
    }
}
