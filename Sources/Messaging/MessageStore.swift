public import PortcullisCore
public import Storage

/// The durable queue underneath both the event bus and the work queues: one table of messages with
/// leases, and one of dead letters. Every operation is one transaction; claims use
/// `FOR UPDATE SKIP LOCKED` on PostgreSQL so that competing consumers never block on each other.
public struct MessageStore: Sendable {
    /// The notification channel that carries "queue X has news" between processes.
    public static let channel = "portcullis_bus"

    public let database: any Database
    let clock: WallClock

    public init(database: any Database, clock: WallClock) {
        self.database = database
        self.clock = clock
    }

    var nowMilliseconds: Int64 { Timestamp.milliseconds(self.clock.now) }

    /// Adds a message unless the queue already holds one with the same id. With `connection`, the message
    /// is part of the caller's transaction and its wake-up is sent when that commits.
    ///
    /// - Returns: whether a message was added.
    @discardableResult
    public func enqueue(
        queue: String,
        messageID: String,
        body: String,
        delay: Duration = .zero,
        on connection: (any DatabaseConnection)? = nil
    ) async throws -> Bool {
        let message = Outgoing(queue: queue, messageID: messageID, body: body, visibleAt: self.nowMilliseconds + delay.milliseconds)
        let insert: @Sendable (any DatabaseConnection) async throws -> Bool = { connection in
            try await !self.enqueue([message], on: connection).isEmpty
        }
        if let connection {
            return try await insert(connection)
        }
        return try await self.database.transaction(insert)
    }

    /// Leases up to `max` visible messages for `visibility`. Messages whose earlier leases expired after
    /// `maxAttempts` deliveries (their consumer crashed each time) go to the dead-letter store instead.
    ///
    /// - Parameter leaseID: The lease to claim under; a caller that chooses it can give back whatever the
    ///   claim leased even when it never learned the outcome (``releaseLease(queue:leaseID:)``).
    public func claim(
        queue: String, max: Int, visibility: Duration, maxAttempts: Int, leaseID: String = RandomUUID.string()
    ) async throws -> [QueuedMessage] {
        let now = self.nowMilliseconds
        let until = now + visibility.milliseconds
        return try await self.database.transaction { connection in
            let lock: SQLQuery = connection.dialect == .postgres ? " FOR UPDATE SKIP LOCKED" : ""
            let exhausted = try await connection.query(
                """
                SELECT seq FROM bus_messages
                WHERE queue = \(queue) AND visible_at <= \(now) AND attempts >= \(maxAttempts)
                ORDER BY seq LIMIT 100\(lock)
                """
            ).map { try $0.int("seq") }
            if !exhausted.isEmpty {
                try await Self.moveToDeadLetters(
                    connection, seqs: exhausted, now: now,
                    fallbackError: "lease expired after \(maxAttempts) deliveries without an ack"
                )
            }
            let candidates = try await connection.query(
                """
                SELECT seq FROM bus_messages
                WHERE queue = \(queue) AND visible_at <= \(now) AND attempts < \(maxAttempts)
                ORDER BY visible_at, seq LIMIT \(max)\(lock)
                """
            ).map { try $0.int("seq") }
            guard !candidates.isEmpty else { return [] }
            let rows = try await connection.query(
                """
                UPDATE bus_messages SET lease_id = \(leaseID), visible_at = \(until), attempts = attempts + 1
                WHERE seq IN (\(list: candidates))
                RETURNING seq, message_id, body, attempts, enqueued_at
                """
            )
            if QueueJournal.isJournaled(queue) {
                // In queue order: RETURNING gives the rows in no particular order.
                let ordered = try rows.sorted { try $0.int("seq") < $1.int("seq") }
                let leased = try ordered.map { (try $0.string("message_id"), Int(try $0.int("attempts"))) }
                try await QueueJournal.record(.leased, queue: queue, messages: leased, at: now, on: connection)
            }
            return try rows.map { row in
                QueuedMessage(
                    seq: try row.int("seq"),
                    queue: queue,
                    messageID: try row.string("message_id"),
                    body: try row.string("body"),
                    attempts: Int(try row.int("attempts")),
                    enqueuedAt: Timestamp.date(milliseconds: try row.int("enqueued_at")),
                    leaseID: leaseID
                )
            }.sorted { $0.seq < $1.seq }
        }
    }

    /// Removes a delivered message. Returns false when the lease is not the caller's (stale).
    public func ack(queue: String, seq: Int64, leaseID: String) async throws -> Bool {
        guard QueueJournal.isJournaled(queue) else {
            return try await self.database.first(
                "DELETE FROM bus_messages WHERE seq = \(seq) AND queue = \(queue) AND lease_id = \(leaseID) RETURNING seq"
            ) != nil
        }
        let now = self.nowMilliseconds
        return try await self.database.transaction { connection in
            guard
                let row = try await connection.first(
                    "DELETE FROM bus_messages WHERE seq = \(seq) AND queue = \(queue) AND lease_id = \(leaseID) RETURNING message_id, attempts"
                )
            else { return false }
            try await QueueJournal.record(
                .acked, queue: queue, messages: [(try row.string("message_id"), Int(try row.int("attempts")))], at: now, on: connection)
            return true
        }
    }

    /// Removes several delivered messages in one transaction. Returns how many leases were stale.
    public func ack(queue: String, messages: [(seq: Int64, leaseID: String)]) async throws -> Int {
        let now = self.nowMilliseconds
        return try await self.database.transaction { connection in
            var stale = 0
            for message in messages {
                let deleted = try await connection.first(
                    """
                    DELETE FROM bus_messages WHERE seq = \(message.seq) AND queue = \(queue) AND lease_id = \(message.leaseID)
                    RETURNING message_id, attempts
                    """
                )
                if let deleted {
                    try await QueueJournal.record(
                        .acked, queue: queue, messages: [(try deleted.string("message_id"), Int(try deleted.int("attempts")))], at: now,
                        on: connection)
                } else {
                    stale += 1
                }
            }
            return stale
        }
    }

    /// Returns a message for another try after `delay`, or dead-letters it when it has had `maxAttempts`.
    public func nack(
        queue: String,
        seq: Int64,
        leaseID: String,
        delay: Duration,
        maxAttempts: Int,
        error: String
    ) async throws -> NackOutcome {
        let now = self.nowMilliseconds
        let visibleAt = now + delay.milliseconds
        return try await self.database.transaction { connection in
            let lock: SQLQuery = connection.dialect == .postgres ? " FOR UPDATE" : ""
            guard
                let row = try await connection.first(
                    "SELECT attempts FROM bus_messages WHERE seq = \(seq) AND queue = \(queue) AND lease_id = \(leaseID)\(lock)"
                )
            else { return .staleLease }
            let error = Self.truncated(error)
            try await connection.execute("UPDATE bus_messages SET last_error = \(error) WHERE seq = \(seq)")
            if try row.int("attempts") >= maxAttempts {
                try await Self.moveToDeadLetters(connection, seqs: [seq], now: now, fallbackError: error)
                return .deadLettered
            }
            try await connection.execute(
                "UPDATE bus_messages SET visible_at = \(visibleAt), lease_id = NULL WHERE seq = \(seq)"
            )
            if QueueJournal.isJournaled(queue) {
                try await QueueJournal.record(.nacked, seqs: [seq], at: now, on: connection)
            }
            if delay == .zero {
                try await self.database.notify(channel: Self.channel, payload: queue, on: connection)
            }
            return .requeued
        }
    }

    /// Gives back every message still held under `leaseID`, without counting the delivery: for a consumer
    /// that lost track of a lease when the database went away (its claim's answer, or its nack, never
    /// arrived), so that the messages are delivered again now instead of when the lease expires.
    /// Returns how many were given back.
    @discardableResult
    public func releaseLease(queue: String, leaseID: String) async throws -> Int {
        try await self.releaseLeases(queue: queue, leaseIDs: [leaseID])
    }

    /// ``releaseLease(queue:leaseID:)`` for several leases, in one statement.
    @discardableResult
    public func releaseLeases(queue: String, leaseIDs: [String]) async throws -> Int {
        guard !leaseIDs.isEmpty else { return 0 }
        let now = self.nowMilliseconds
        return try await self.database.transaction { connection in
            let seqs = try await connection.query(
                """
                UPDATE bus_messages SET visible_at = \(now), lease_id = NULL, attempts = attempts - 1
                WHERE queue = \(queue) AND lease_id IN (\(list: leaseIDs)) RETURNING seq
                """
            ).map { try $0.int("seq") }
            let released = seqs.count
            if QueueJournal.isJournaled(queue) { try await QueueJournal.record(.released, seqs: seqs, at: now, on: connection) }
            if released > 0 {
                try await self.database.notify(channel: Self.channel, payload: queue, on: connection)
            }
            return released
        }
    }

    /// Gives a leased message back without counting the delivery (graceful shutdown).
    public func release(queue: String, seq: Int64, leaseID: String) async throws {
        let now = self.nowMilliseconds
        try await self.database.transaction { connection in
            let released = try await connection.first(
                """
                UPDATE bus_messages SET visible_at = \(now), lease_id = NULL, attempts = attempts - 1
                WHERE seq = \(seq) AND queue = \(queue) AND lease_id = \(leaseID) RETURNING seq
                """
            )
            if released != nil {
                if QueueJournal.isJournaled(queue) { try await QueueJournal.record(.released, seqs: [seq], at: now, on: connection) }
                try await self.database.notify(channel: Self.channel, payload: queue, on: connection)
            }
        }
    }

    static func moveToDeadLetters(_ connection: any DatabaseConnection, seqs: [Int64], now: Int64, fallbackError: String) async throws {
        try await QueueJournal.record(.deadLettered, seqs: seqs, at: now, on: connection)
        try await connection.execute(
            """
            INSERT INTO bus_dead_letters (queue, message_id, body, attempts, enqueued_at, failed_at, last_error)
            SELECT queue, message_id, body, attempts, enqueued_at, \(now), COALESCE(last_error, \(fallbackError))
            FROM bus_messages WHERE seq IN (\(list: seqs))
            """
        )
        try await connection.execute("DELETE FROM bus_messages WHERE seq IN (\(list: seqs))")
    }

    /// Error texts are kept short: they are for operators, and a handler's error may be arbitrarily long.
    /// Bounded in bytes (at most 2,000 bytes of UTF-8, then `…`): a bound in characters bounds nothing,
    /// since one character may be any number of scalars.
    static func truncated(_ error: String) -> String {
        error.utf8Prefix(2000, marking: "…")
    }
}

extension Duration {
    /// Whole milliseconds, rounded down.
    var milliseconds: Int64 {
        self.components.seconds * 1000 + self.components.attoseconds / 1_000_000_000_000_000
    }
}
