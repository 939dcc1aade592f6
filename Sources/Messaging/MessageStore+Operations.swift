public import Foundation
import PortcullisCore
public import Storage

extension MessageStore {
    /// Removes "already handled" markers (``Delivery/once(_:)``) written before `cutoff`: a redelivery
    /// that late is no longer expected (leases last minutes, retries hours). Returns how many went.
    @discardableResult
    public func pruneProcessedMarkers(before cutoff: Date) async throws -> Int {
        let cutoff = Timestamp.milliseconds(cutoff)
        return try await self.database.query("DELETE FROM bus_processed WHERE processed_at < \(cutoff) RETURNING event_id").count
    }

    /// Depth, leased count and oldest message of every non-empty queue.
    public func stats() async throws -> [QueueStats] {
        let now = self.nowMilliseconds
        let rows = try await self.database.query(
            """
            SELECT queue, COUNT(*) AS depth,
                   SUM(CASE WHEN lease_id IS NOT NULL AND visible_at > \(now) THEN 1 ELSE 0 END) AS leased,
                   MIN(enqueued_at) AS oldest
            FROM bus_messages GROUP BY queue ORDER BY queue
            """
        )
        return try rows.map { row in
            QueueStats(
                queue: try row.string("queue"),
                depth: Int(try row.int("depth")),
                leased: Int(try row.optionalInt("leased") ?? 0),
                oldestEnqueuedAt: try row.optionalInt("oldest").map(Timestamp.date(milliseconds:))
            )
        }
    }

    /// How long until the next message of `queue` becomes visible (a delayed retry, an expiring lease);
    /// nil when the queue is empty. Waiters sleep no longer than this, so such messages are picked up on time.
    public func timeUntilNextVisible(queue: String) async throws -> Duration? {
        let row = try await self.database.first("SELECT MIN(visible_at) AS next FROM bus_messages WHERE queue = \(queue)")
        guard let next = try row?.optionalInt("next") else { return nil }
        return .milliseconds(max(0, next - self.nowMilliseconds))
    }

    /// The position of message `messageID` in `queue` while `leaseID` holds it and has not expired; nil otherwise.
    public func seq(queue: String, messageID: String, leaseID: String) async throws -> Int64? {
        // Only while the lease lasts: an expired lease is stale even before another lease takes the message.
        try await self.database.first(
            """
            SELECT seq FROM bus_messages
            WHERE queue = \(queue) AND message_id = \(messageID) AND lease_id = \(leaseID) AND visible_at > \(self.nowMilliseconds)
            """
        ).map { try $0.int("seq") }
    }

    /// Messages waiting or leased in `queue`.
    public func depth(queue: String) async throws -> Int {
        let row = try await self.database.first("SELECT COUNT(*) AS depth FROM bus_messages WHERE queue = \(queue)")
        return Int(try row?.int("depth") ?? 0)
    }

    /// Makes `queues` exist for the run `round` of their flow (a starting flow's step queues), inside
    /// `connection`'s transaction.
    public func provisionQueues(_ queues: [String], round: Int64, on connection: any DatabaseConnection) async throws {
        let now = self.nowMilliseconds
        for queue in queues {
            try await connection.execute(
                """
                INSERT INTO bus_queues (queue, created_at, round) VALUES (\(queue), \(now), \(round))
                ON CONFLICT (queue) DO UPDATE SET created_at = excluded.created_at, round = excluded.round
                """
            )
        }
    }

    /// Removes `queues` and their messages, waiting and leased (a stopped flow's step queues), inside
    /// `connection`'s transaction; their dead letters stay for operators. Returns how many messages went.
    ///
    /// The queues go first: that waits for every enqueue holding one of them (``DatabaseWorkQueue/enqueue(intoProvisioned:messageID:message:on:)``)
    /// to commit, so that the messages it wrote are seen and removed too, and no later one gets in.
    @discardableResult
    public func removeQueues(_ queues: [String], on connection: any DatabaseConnection) async throws -> Int {
        guard !queues.isEmpty else { return 0 }
        try await connection.execute("DELETE FROM bus_queues WHERE queue IN (\(list: queues))")
        return try await connection.query("DELETE FROM bus_messages WHERE queue IN (\(list: queues)) RETURNING seq").count
    }

    /// A page of dead letters, newest first, optionally of one queue, with the total count.
    public func deadLetters(queue: String? = nil, offset: Int, limit: Int) async throws -> (items: [DeadLetter], total: Int) {
        let filter: SQLQuery = queue.map { " WHERE queue = \($0)" } ?? ""
        let total = try await self.database.first("SELECT COUNT(*) AS total FROM bus_dead_letters\(filter)")
        let rows = try await self.database.query(
            """
            SELECT seq, queue, message_id, body, attempts, enqueued_at, failed_at, last_error
            FROM bus_dead_letters\(filter) ORDER BY seq DESC LIMIT \(limit) OFFSET \(offset)
            """
        )
        return (try rows.map(Self.deadLetter), Int(try total?.int("total") ?? 0))
    }

    /// Puts a dead letter back on its queue with a fresh attempt count. Returns false when there is no such
    /// dead letter; throws ``MessagingError/alreadyQueued(_:)`` when the same message is queued again already,
    /// and ``MessagingError/queueGone(_:)`` for a flow step queue whose flow no longer runs (a message there
    /// would never be leased, and would come back into a later run of the flow).
    public func replayDeadLetter(id: Int64) async throws -> Bool {
        let now = self.nowMilliseconds
        return try await self.database.transaction { connection in
            let lock: SQLQuery = connection.dialect == .postgres ? " FOR UPDATE" : ""
            guard
                let row = try await connection.first(
                    "SELECT queue, message_id, body FROM bus_dead_letters WHERE seq = \(id)\(lock)"
                )
            else { return false }
            let queue = try row.string("queue")
            let messageID = try row.string("message_id")
            if FlowQueueNames.isStepQueue(queue) {
                let share: SQLQuery = connection.dialect == .postgres ? " FOR SHARE" : ""
                guard try await connection.first("SELECT queue FROM bus_queues WHERE queue = \(queue)\(share)") != nil else {
                    throw MessagingError.queueGone(queue)
                }
            }
            let inserted = try await connection.first(
                """
                INSERT INTO bus_messages (queue, message_id, body, attempts, enqueued_at, visible_at)
                VALUES (\(queue), \(messageID), \(try row.string("body")), 0, \(now), \(now))
                ON CONFLICT (queue, message_id) DO NOTHING RETURNING seq
                """
            )
            guard inserted != nil else { throw MessagingError.alreadyQueued(messageID) }
            try await QueueJournal.record(.replayed, queue: queue, messages: [(messageID, 0)], at: now, on: connection)
            try await connection.execute("DELETE FROM bus_dead_letters WHERE seq = \(id)")
            try await self.database.notify(channel: Self.channel, payload: queue, on: connection)
            return true
        }
    }

    /// Deletes a dead letter for good. Returns false when there is no such dead letter.
    public func purgeDeadLetter(id: Int64) async throws -> Bool {
        try await self.database.first("DELETE FROM bus_dead_letters WHERE seq = \(id) RETURNING seq") != nil
    }

    static func deadLetter(_ row: SQLRow) throws -> DeadLetter {
        DeadLetter(
            id: String(try row.int("seq")),
            queue: try row.string("queue"),
            messageID: try row.string("message_id"),
            body: try row.string("body"),
            attempts: Int(try row.int("attempts")),
            enqueuedAt: Timestamp.date(milliseconds: try row.int("enqueued_at")),
            failedAt: Timestamp.date(milliseconds: try row.int("failed_at")),
            lastError: try row.string("last_error")
        )
    }
}
