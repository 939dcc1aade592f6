import Cron
import Foundation
public import Logging
public import Messaging
import Metrics
public import PortcullisCore
public import ServiceLifecycle
public import Storage

/// Fires due executions: sleeps until the earliest due time (or until a schedule changes in this
/// process, or at most ``idleCheck`` so that changes made by another replica are seen), then claims the
/// due rows and puts one message per execution on the flow's first node's queue, in one transaction.
///
/// Exactly once across replicas: a due row is claimed `FOR UPDATE SKIP LOCKED` (PostgreSQL; SQLite has one
/// writer) and moved to its next due time only if it still holds the due time read, and the message id is
/// the flow and the due time, which a queue holds once.
///
/// Late is not missed: every loop says it is up (`scheduler_runners`), and a due time that some loop was
/// up for fires even when the loop fires it late (a loaded machine), each in turn. A due time that fell
/// while no loop was up (every replica stopped) fires once, with the next one counted from now: no storm
/// after downtime. A loop that stops gracefully says so at once; one that crashes counts as up for
/// ``livenessTolerance`` more.
public struct ScheduleRunner: Service {
    /// Longest wait without looking at the table (a schedule changed by another replica), and so the
    /// longest gap between two "I am up" marks of a running loop.
    public static let idleCheck: Duration = .seconds(1)
    /// How long after its last mark a loop still counts as up (a loaded machine marks late).
    public static let livenessTolerance: Duration = .seconds(10)
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
        let runnerID = UUID().uuidString.lowercased()
        try await cancelWhenGracefulShutdown {
            var series: MarkSeries?
            while !Task.isCancelled {
                let generation = self.signals.generation(of: Self.signalName)
                var wait = Self.idleCheck
                do {
                    // A successful look at the table shows the loop is up, scheduled work or not; only with
                    // something scheduled does it say so in the table (nothing to cover, nothing to write).
                    let scheduled = try await self.nextDue() != nil
                    let current = Self.continued(series, at: Timestamp.milliseconds(self.clock.now))
                    if scheduled {
                        // Carried on only once the mark is written: a loop that can read but not write (a full
                        // disk, a read-only standby) is not up for the due times it cannot fire.
                        try await self.markAlive(runnerID, series: current)
                        series = current
                        try await self.fireDue()
                    } else {
                        series = current
                    }
                    if let due = try await self.nextDue() {
                        let untilDue = Duration.milliseconds(max(0, Timestamp.milliseconds(due) - Timestamp.milliseconds(self.clock.now)))
                        wait = min(wait, untilDue)
                    }
                } catch is CancellationError {
                    break
                } catch {
                    // The database is away: try again after the idle wait; nothing fired is lost (the row still holds its due time).
                    self.logger.warning("scheduling failed; trying again", metadata: ["error": "\(error)"])
                }
                if wait > .zero {
                    await self.signals.wait(queue: Self.signalName, unlessChangedFrom: generation, timeout: wait)
                }
            }
        }
        // Stopping: from now on this loop covers no due time (best effort; after a crash the tolerance does).
        try? await withDeadline(.seconds(2)) { [database] in
            try await database.execute("DELETE FROM scheduler_runners WHERE runner_id = \(runnerID)")
        }
    }

    /// An unbroken series of "I am up" marks: since its first one, and its last.
    struct MarkSeries: Sendable, Equatable {
        var since: Int64
        var last: Int64
    }

    /// `series` carried on to `now`, or a new one when `now` comes more than ``livenessTolerance`` after
    /// its last sign of life (the database was away): the loop was not up in between, so the due times of
    /// the gap fire once, not one by one.
    static func continued(_ series: MarkSeries?, at now: Int64) -> MarkSeries {
        let tolerance = Self.livenessTolerance.components.seconds * 1000
        guard let series, now - series.last <= tolerance else { return MarkSeries(since: now, last: now) }
        return MarkSeries(since: series.since, last: now)
    }

    /// Says in the table that this loop is up since `series.since`, and forgets loops that stopped saying so
    /// long ago.
    func markAlive(_ runnerID: String, series: MarkSeries) async throws {
        let now = series.last
        try await self.database.transaction { connection in
            try await connection.execute(
                """
                INSERT INTO scheduler_runners (runner_id, since, alive_at) VALUES (\(runnerID), \(series.since), \(now))
                ON CONFLICT (runner_id) DO UPDATE SET since = excluded.since, alive_at = excluded.alive_at
                """
            )
            try await connection.execute("DELETE FROM scheduler_runners WHERE alive_at < \(now - 600_000)")
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
            let (claimed, due) = try await self.fireBatch()
            // How late each execution fired after its due time: measured once the batch is committed, the moment
            // its messages can be leased.
            let committed = Timestamp.milliseconds(self.clock.now)
            let lag = Timer(label: "portcullis_scheduler_lag_seconds")
            for time in due {
                lag.recordMilliseconds(max(0, committed - time))
            }
            fired += due.count
            if claimed < Self.batch { return fired }
        }
    }

    /// Fires one batch of due flows in one transaction: how many rows it read, and the due times it fired.
    private func fireBatch() async throws -> (read: Int, fired: [Int64]) {
        let now = self.clock.now
        let nowMilliseconds = Timestamp.milliseconds(now)
        let queues = self.queues
        let tolerance = Self.livenessTolerance.components.seconds * 1000
        return try await self.database.transaction { connection in
            // Since when some loop has been up without a break: due times from then on are caught up one by one.
            let coveredSince = try await connection.first(
                "SELECT MIN(since) AS since FROM scheduler_runners WHERE alive_at >= \(nowMilliseconds - tolerance)"
            ).flatMap { try $0.optionalInt("since") }
            let lock: SQLQuery = connection.dialect == .postgres ? " FOR UPDATE SKIP LOCKED" : ""
            let rows = try await connection.query(
                """
                SELECT flow_id, version, cron, timezone, queue, due_at FROM scheduler_flows
                WHERE state = 'active' AND due_at IS NOT NULL AND due_at <= \(nowMilliseconds)
                ORDER BY due_at LIMIT \(Self.batch)\(lock)
                """
            )
            var fired: [Int64] = []
            for row in rows {
                let flowID = try row.string("flow_id")
                let due = try row.int("due_at")
                // A loop was up when it fell due: late, so the following due time is the next in line. Otherwise
                // the replicas were down: fire once, and go on from now.
                let caughtUp = coveredSince.map { due >= $0 } ?? false
                let after = caughtUp ? Timestamp.date(milliseconds: due) : now
                let next = Schedules.next(cron: try row.string("cron"), timezone: try row.optionalString("timezone"), after: after)
                let claimed = try await connection.first(
                    """
                    UPDATE scheduler_flows SET due_at = \(next.map(Timestamp.milliseconds)), last_at = \(due)
                    WHERE flow_id = \(flowID) AND state = 'active' AND due_at = \(due) RETURNING flow_id
                    """
                )
                guard claimed != nil, let queue = try row.optionalString("queue") else { continue }
                let scheduledFor = Timestamp.date(milliseconds: due)
                let message: JSONValue = [
                    "id": .string(TimeOrderedID.uuidString(at: now)), "attachments": [:], "body": [:], "headers": [:],
                    "metadata": [
                        "source": ["name": "scheduler", "type": "scheduler", "externalExecId": .string(UUID().uuidString.lowercased())],
                        "scheduledFor": .string(Timestamp.format(scheduledFor)),
                        "nextScheduledFor": next.map { .string(Timestamp.format($0)) } ?? .null,
                    ],
                ]
                // One message per flow and due time, whoever fires it; none once the flow's queue is gone (stopping).
                do {
                    let round = try row.int("version")
                    if try await queues.enqueue(
                        intoProvisioned: queue, round: round, messageID: "scheduled:\(flowID):\(due)", message: message, on: connection)
                    {
                        fired.append(due)
                    }
                } catch is QueueNotProvisioned {
                    // The flow stopped, or runs again in a later round, since its row was read: that round's
                    // own row fires for it.
                    self.logger.debug("due execution of a flow run that has ended", metadata: ["flow.id": .string(flowID)])
                    continue
                }
            }
            return (rows.count, fired)
        }
    }
}
