import Cron
import Foundation
public import Logging
public import Messaging
import Metrics
public import PortcullisCore
public import ServiceLifecycle
public import Storage

/// Fires due executions: sleeps until ``lookahead`` before the earliest due time (or until a schedule
/// changes in this process, or at most ``idleCheck`` so that changes made by another replica are seen),
/// then claims the rows due by then and puts one message per execution on the flow's first node's queue,
/// leasable from its due time on, a batch per transaction.
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
    /// How early a due execution is fired: its message is written up to this long before its due time and
    /// can be leased from its due time on, so that thousands due in the same second are all in their
    /// queues when the second comes, instead of being written one batch after the other from then on.
    public static var lookahead: Duration { .milliseconds(Self.lookaheadMilliseconds) }
    static let lookaheadMilliseconds: Int64 = 2_000
    static let signalName = "scheduler:schedules"
    static let batch = 1000

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
                        let untilDue = Timestamp.milliseconds(due) - Timestamp.milliseconds(self.clock.now) - Self.lookaheadMilliseconds
                        wait = min(wait, .milliseconds(max(0, untilDue)))
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

    /// Fires the executions due by ``lookahead`` from now, batch after batch for up to about ``idleCheck``
    /// (then the loop says again that it is up, and calls again); returns how many fired.
    @discardableResult
    public func fireDue() async throws -> Int {
        var fired = 0
        let started = ContinuousClock.now
        while true {
            let (claimed, due) = try await self.fireBatch()
            // How late each execution fired after its due time: measured once the batch is committed, the moment
            // its messages can be leased (0 for one written ahead, which can be leased from its due time on).
            let committed = Timestamp.milliseconds(self.clock.now)
            let lag = Timer(label: "portcullis_scheduler_lag_seconds")
            for time in due {
                lag.recordMilliseconds(max(0, committed - time))
            }
            fired += due.count
            if claimed < Self.batch || ContinuousClock.now - started >= Self.idleCheck { return fired }
        }
    }

    /// Fires one batch of due flows in one transaction: how many rows it read, and the due times it fired.
    ///
    /// Rows due up to ``lookahead`` from now are fired, each message leased from its due time on. A few
    /// statements whatever the batch's size: the due rows are read, moved to their next due times with
    /// one statement per distinct pair of due and next time (flows on the same cron share one), and their
    /// messages go to the flows' queues in one batch (``DatabaseWorkQueue/enqueue(intoProvisioned:on:)``).
    private func fireBatch() async throws -> (read: Int, fired: [Int64]) {
        let now = self.clock.now
        let nowMilliseconds = Timestamp.milliseconds(now)
        let queues = self.queues
        let logger = self.logger
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
                WHERE state = 'active' AND due_at IS NOT NULL AND due_at <= \(nowMilliseconds + Self.lookaheadMilliseconds)
                ORDER BY due_at LIMIT \(Self.batch)\(lock)
                """
            )
            var nextTimes = NextDueTimes()
            let executions = try rows.map { row in
                let due = try row.int("due_at")
                // Not due yet (written ahead), or a loop was up when it fell due (late): the following due time is
                // the next in line. Otherwise the replicas were down: fire once, and go on from now.
                let caughtUp = due > nowMilliseconds || coveredSince.map { due >= $0 } ?? false
                let next = nextTimes.next(
                    cron: try row.string("cron"), timezone: try row.optionalString("timezone"),
                    after: caughtUp ? Timestamp.date(milliseconds: due) : now)
                return Execution(
                    flowID: try row.string("flow_id"), round: try row.int("version"), queue: try row.optionalString("queue"), due: due,
                    next: next.map(Timestamp.milliseconds))
            }
            let claimed = try await Self.claim(executions, on: connection)
            // One message per flow and due time, whoever fires it; none once the flow's queue is gone (stopping).
            let firing = executions.compactMap { execution in
                claimed.contains(execution.flowID) ? execution.queue.map { (execution, $0) } : nil
            }
            let messages = firing.map { execution, queue in
                DatabaseWorkQueue.ProvisionedMessage(
                    queue: queue, round: execution.round, messageID: "scheduled:\(execution.flowID):\(execution.due)",
                    body: Self.message(
                        id: TimeOrderedID.uuidString(at: now), scheduledFor: Timestamp.format(milliseconds: execution.due),
                        nextScheduledFor: execution.next.map(Timestamp.format(milliseconds:))),
                    visibleAt: execution.due)
            }
            var fired: [Int64] = []
            for ((execution, _), outcome) in zip(firing, try await queues.enqueue(intoProvisioned: messages, on: connection)) {
                switch outcome {
                case .added: fired.append(execution.due)
                case .alreadyQueued: continue
                case .notProvisioned:
                    // The flow stopped, or runs again in a later round, since its row was read: that round's
                    // own row fires for it.
                    logger.debug("due execution of a flow run that has ended", metadata: ["flow.id": .string(execution.flowID)])
                }
            }
            return (rows.count, fired)
        }
    }

    /// A due execution read in a batch: the flow's run and first queue, its due time, and the one after.
    struct Execution: Sendable {
        let flowID: String
        let round: Int64
        let queue: String?
        let due: Int64
        let next: Int64?
    }

    /// Moves each execution's row to its next due time if it still holds the due time read (and is active);
    /// returns the flows whose rows moved. One statement per distinct due and next time.
    static func claim(_ executions: [Execution], on connection: any DatabaseConnection) async throws -> Set<String> {
        struct Move: Hashable {
            let due: Int64
            let next: Int64?
        }
        let moves = Dictionary(grouping: executions) { Move(due: $0.due, next: $0.next) }
        var claimed: Set<String> = []
        for (move, group) in moves.sorted(by: { ($0.key.due, $0.key.next ?? -1) < ($1.key.due, $1.key.next ?? -1) }) {
            // A group is at most a batch: one statement.
            let rows = try await connection.query(
                """
                UPDATE scheduler_flows SET due_at = \(move.next), last_at = \(move.due)
                WHERE flow_id IN (\(list: group.map(\.flowID))) AND state = 'active' AND due_at = \(move.due) RETURNING flow_id
                """
            )
            for row in rows { claimed.insert(try row.string("flow_id")) }
        }
        return claimed
    }

    /// The message a scheduled execution puts on the flow's first queue, as JSON text: what encoding
    /// `{"id", "attachments": {}, "body": {}, "headers": {}, "metadata": {"source", "scheduledFor",
    /// "nextScheduledFor"}}` with sorted keys gives, written directly (thousands fire in the same second).
    static func message(id: String, scheduledFor: String, nextScheduledFor: String?) -> String {
        var json = CompactJSON(capacity: 320)
        json.open()
        for empty in ["attachments", "body", "headers"] {
            json.open(empty)
            json.close()
        }
        json.field("id", id)
        json.open("metadata")
        if let nextScheduledFor { json.field("nextScheduledFor", nextScheduledFor) } else { json.field("nextScheduledFor", json: "null".utf8) }
        json.field("scheduledFor", scheduledFor)
        json.open("source")
        json.field("externalExecId", RandomUUID.string())
        json.field("name", "scheduler")
        json.field("type", "scheduler")
        json.close()
        json.close()
        json.close()
        return json.text
    }
}
