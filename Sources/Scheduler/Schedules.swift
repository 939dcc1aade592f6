import Cron
import Foundation
public import Logging
public import Messaging
public import PortcullisCore
public import Storage

/// The cron flows the scheduler serves, kept from the lifecycle events as the seed describes:
/// `flow.starting` records a cron flow, `flow.started` schedules its first execution, `flow.stopping`
/// ends it. Each event is handled once, holding the flow's row (made on first sight), an event of an
/// older round than the row's is ignored, and a `flow.started` that overtook its `flow.starting` waits
/// for it (retried).
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

    static let rows = FlowRoundRow(table: "scheduler_flows", placeholder: "cron = ''")

    public func handle(_ event: Event, _ delivery: Delivery) async throws {
        let announcement = event.name == "flow.starting" ? FlowAnnouncement.read(event) : nil
        try await Self.rows.follow(event, delivery, logger: self.logger) { step, connection in
            let (flowID, version, current, state) = (step.flowID, step.round, step.held.round, step.held.state)
            switch event.name {
            case "flow.starting":
                // A flow without cron is recorded too (as not scheduled), so that its round is known.
                let cron = announcement?.cron
                let queue = announcement?.firstNodeID.map { FlowQueueNames.messages(flowID: flowID, nodeID: $0) }
                let owners = try JSONCoding.string(announcement?.ownerIDs ?? [])
                try await connection.execute(
                    """
                    UPDATE scheduler_flows SET state = \(cron == nil ? "unscheduled" : "starting"), version = \(version), cron = \(cron ?? ""),
                        timezone = \(announcement?.cronTimezone), queue = \(queue), tenant = \(announcement?.tenant), owners = \(owners), due_at = NULL
                    WHERE flow_id = \(flowID)
                    """
                )
            case "flow.started":
                if state == "unscheduled" && version == current { return }
                guard version == current, state == "starting",
                    let row = try await connection.first("SELECT cron, timezone FROM scheduler_flows WHERE flow_id = \(flowID)")
                else { throw FlowRoundRow.EarlierEventPending() }
                let due = Self.next(cron: try row.string("cron"), timezone: try row.optionalString("timezone"), after: self.clock.now)
                try await connection.execute(
                    "UPDATE scheduler_flows SET state = 'active', due_at = \(due.map(Timestamp.milliseconds)) WHERE flow_id = \(flowID)")
            case "flow.stopping":
                // Also for a round not seen yet: a late start of that round must not schedule the flow again.
                let queue = try await connection.first(
                    "UPDATE scheduler_flows SET state = 'stopped', version = \(version), due_at = NULL WHERE flow_id = \(flowID) RETURNING queue"
                ).flatMap { try $0.optionalString("queue") }
                // Executions written ahead (ScheduleRunner.lookahead) that are not due yet go too: a stopped flow
                // gets nothing due after its stop, even before its queues are removed.
                if let queue {
                    // The flow's lifecycle lock (shared) first: the orchestrator's stop, which removes the queue's
                    // messages too and holds the lock exclusively, goes before or after this, never interleaved
                    // with it (their deletes could otherwise deadlock).
                    try await connection.hold(.flowLifecycle, key: flowID, mode: .shared)
                    try await MessageStore.withdrawUnseen(
                        queue: queue, idPrefix: "scheduled:\(flowID):", at: Timestamp.milliseconds(self.clock.now), on: connection)
                }
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
