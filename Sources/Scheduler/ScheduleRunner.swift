import Cron
import Foundation
public import Logging
public import Messaging
public import PortcullisCore
public import ServiceLifecycle
public import Storage

/// Fires due executions: sleeps until the earliest due time (or until a schedule changes in this
/// process, or at most ``idleCheck`` so that changes made by another replica are seen), then claims the
/// due rows and puts one message per execution on the flow's first node's queue, in one transaction.
///
/// Exactly once across replicas: a due row is claimed `FOR UPDATE SKIP LOCKED` (PostgreSQL; SQLite has one
/// writer) and moved to its next due time only if it still holds the due time read, and the message id is
/// the flow and the due time, which a queue holds once. A run missed while no replica was up fires once,
/// with the next one computed from now: no storm after downtime.
public struct ScheduleRunner: Service {
    /// Longest wait without looking at the table (a schedule changed by another replica).
    public static let idleCheck: Duration = .seconds(5)
    static let signalName = "scheduler:schedules"
    static let batch = 100

    let database: any Database
    let queues: DatabaseWorkQueue
    let signals: QueueSignals
    let clock: WallClock
    let logger: Logger

    public init(database: any Database, queues: DatabaseWorkQueue, signals: QueueSignals, clock: WallClock, logger: Logger) {
        self.database = database
        self.queues = queues
        self.signals = signals
        self.clock = clock
        self.logger = logger
    }

    /// Tells the loop that a schedule changed in this process.
    public static func changed(_ signals: QueueSignals) {
        signals.signal(Self.signalName)
    }

    public func run() async throws {
        try await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                let generation = self.signals.generation(of: Self.signalName)
                var wait = Self.idleCheck
                do {
                    try await self.fireDue()
                    if let due = try await self.nextDue() {
                        let untilDue = Duration.milliseconds(max(0, Timestamp.milliseconds(due) - Timestamp.milliseconds(self.clock.now)))
                        wait = min(wait, untilDue)
                    }
                } catch is CancellationError {
                    return
                } catch {
                    // The database is away: try again after the idle wait; nothing fired is lost (the row still holds its due time).
                    self.logger.warning("scheduling failed; trying again", metadata: ["error": "\(error)"])
                }
                if wait > .zero {
                    await self.signals.wait(queue: Self.signalName, unlessChangedFrom: generation, timeout: wait)
                }
            }
        }
    }

    /// The earliest due time of an active schedule.
    func nextDue() async throws -> Date? {
        try await self.database.first("SELECT MIN(due_at) AS due FROM scheduler_flows WHERE state = 'active' AND due_at IS NOT NULL")
            .flatMap { try $0.optionalInt("due") }.map(Timestamp.date(milliseconds:))
    }

    /// Fires every due execution; returns how many fired.
    @discardableResult
    public func fireDue() async throws -> Int {
        var fired = 0
        while true {
            let count = try await self.fireBatch()
            fired += count
            if count < Self.batch { return fired }
        }
    }

    private func fireBatch() async throws -> Int {
        let now = self.clock.now
        let nowMilliseconds = Timestamp.milliseconds(now)
        let queues = self.queues
        return try await self.database.transaction { connection in
            let lock: SQLQuery = connection.dialect == .postgres ? " FOR UPDATE SKIP LOCKED" : ""
            let rows = try await connection.query(
                """
                SELECT flow_id, cron, timezone, queue, due_at FROM scheduler_flows
                WHERE state = 'active' AND due_at IS NOT NULL AND due_at <= \(nowMilliseconds)
                ORDER BY due_at LIMIT \(Self.batch)\(lock)
                """
            )
            var fired = 0
            for row in rows {
                let flowID = try row.string("flow_id")
                let due = try row.int("due_at")
                let next = Schedules.next(cron: try row.string("cron"), timezone: try row.optionalString("timezone"), after: now)
                let claimed = try await connection.first(
                    """
                    UPDATE scheduler_flows SET due_at = \(next.map(Timestamp.milliseconds)), last_at = \(due)
                    WHERE flow_id = \(flowID) AND state = 'active' AND due_at = \(due) RETURNING flow_id
                    """
                )
                guard claimed != nil, let queue = try row.optionalString("queue") else { continue }
                let scheduledFor = Timestamp.date(milliseconds: due)
                let message: JSONValue = [
                    "id": .string(UUID().uuidString.lowercased()), "attachments": [:], "body": [:], "headers": [:],
                    "metadata": [
                        "source": ["name": "scheduler", "type": "scheduler", "externalExecId": .string(UUID().uuidString.lowercased())],
                        "scheduledFor": .string(Timestamp.format(scheduledFor)),
                        "nextScheduledFor": next.map { .string(Timestamp.format($0)) } ?? .null,
                    ],
                ]
                // One message per flow and due time, whoever fires it.
                if try await queues.enqueue(queue, messageID: "scheduled:\(flowID):\(due)", message: message, on: connection) {
                    fired += 1
                }
            }
            return fired
        }
    }
}
