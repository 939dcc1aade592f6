import Cron
import Foundation
public import Logging
public import Messaging
public import PortcullisCore
public import Storage

/// The cron flows the scheduler serves, kept from the lifecycle events as the seed describes:
/// `flow.starting` records a cron flow, `flow.started` schedules its first execution, `flow.stopping`
/// ends it. Each event is handled once, holding the flow's row, and an event of an older round than the
/// row's is ignored.
public struct Schedules: Sendable {
    public static let group = "scheduler"
    public static let patterns = ["flow.starting", "flow.started", "flow.stopping"]

    let database: any Database
    let clock: WallClock
    let changed: @Sendable () -> Void
    let logger: Logger

    /// - Parameter changed: called after a schedule changed, so the firing loop looks again.
    public init(database: any Database, clock: WallClock, logger: Logger, changed: @escaping @Sendable () -> Void = {}) {
        self.database = database
        self.clock = clock
        self.logger = logger
        self.changed = changed
    }

    struct Starting: Decodable {
        struct Graph: Decodable {
            struct Node: Decodable { let id: String }
            struct Edge: Decodable { let target: String }
            let nodes: [Node]
            let edges: [Edge]?
        }
        struct Owner: Decodable { let id: String }
        let id: String
        let tenant: String?
        let cron: String?
        let cronTimezone: String?
        let owners: [Owner]?
        let graph: Graph?

        var firstNode: String? {
            let targets = Set(self.graph?.edges?.map(\.target) ?? [])
            return self.graph?.nodes.first { !targets.contains($0.id) }?.id ?? self.graph?.nodes.first?.id
        }
    }

    public func handle(_ event: Event, _ delivery: Delivery) async throws {
        guard case .object(let fields) = event.payload, case .string(let flowID)? = fields["id"], !flowID.isEmpty else { return }
        let version: Int64 = if case .int(let number)? = fields["lifecycleVersion"] { number } else { 0 }
        let starting = event.name == "flow.starting" ? try? JSONCoding.decode(Starting.self, from: JSONCoding.string(event.payload)) : nil
        if event.name == "flow.starting", starting?.cron == nil { return }
        try await delivery.once { connection in
            let lock: SQLQuery = connection.dialect == .postgres ? " FOR UPDATE" : ""
            let row = try await connection.first("SELECT version, cron, timezone FROM scheduler_flows WHERE flow_id = \(flowID)\(lock)")
            if let row, try row.int("version") > version { return }
            switch event.name {
            case "flow.starting":
                guard let starting, let cron = starting.cron else { return }
                let queue = starting.firstNode.map { FlowQueueNames.messages(flowID: flowID, nodeID: $0) }
                let owners = try JSONCoding.string((starting.owners ?? []).map(\.id))
                try await connection.execute(
                    """
                    INSERT INTO scheduler_flows (flow_id, state, version, cron, timezone, queue, tenant, owners, due_at, last_at)
                    VALUES (\(flowID), 'starting', \(version), \(cron), \(starting.cronTimezone), \(queue), \(starting.tenant), \(owners), NULL, NULL)
                    ON CONFLICT (flow_id) DO UPDATE SET state = excluded.state, version = excluded.version, cron = excluded.cron,
                        timezone = excluded.timezone, queue = excluded.queue, tenant = excluded.tenant, owners = excluded.owners,
                        due_at = NULL
                    """
                )
            case "flow.started":
                guard let row, try row.int("version") == version else { return }
                let due = Self.next(cron: try row.string("cron"), timezone: try row.optionalString("timezone"), after: self.clock.now)
                try await connection.execute(
                    """
                    UPDATE scheduler_flows SET state = 'active', due_at = \(due.map(Timestamp.milliseconds))
                    WHERE flow_id = \(flowID) AND state = 'starting'
                    """
                )
            case "flow.stopping":
                guard row != nil else { return }
                try await connection.execute(
                    "UPDATE scheduler_flows SET state = 'stopped', version = \(version), due_at = NULL WHERE flow_id = \(flowID)")
            default:
                return
            }
        }
        self.changed()
    }

    /// The next execution of `cron` in `timezone` (UTC when nil) strictly after `date`; nil when it never fires.
    static func next(cron: String, timezone: String?, after date: Date) -> Date? {
        guard let expression = try? CronExpression(cron) else { return nil }
        return expression.next(after: date, in: timezone.flatMap(TimeZone.init(identifier:)) ?? TimeZone(identifier: "UTC")!)
    }
}
