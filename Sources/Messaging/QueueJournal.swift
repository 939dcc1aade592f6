public import Foundation
import PortcullisCore
public import Storage

/// The step log of flow queues (`flow-…`, ``FlowQueueNames``): each message enqueued, leased, acked,
/// nacked or dead-lettered, with its id and attempts and never its body, written in the transaction of
/// the change. Other queues (the bus's) are not journaled.
public enum QueueJournal {
    public enum Kind: String, Sendable, Codable {
        case enqueued, leased, acked, nacked
        /// Given back without counting the delivery (a consumer shutting down, a lost claim answer).
        case released
        case deadLettered = "dead-lettered"
        /// Back from the dead letters with fresh attempts.
        case replayed
    }

    /// Flow step queues start with this; only they are journaled. (Five characters: the SQL below
    /// compares `substr(queue, 1, 5)`.)
    static let prefix = "flow-"

    /// One line of a step's log.
    public struct Entry: Sendable, Hashable {
        public let seq: Int64
        public let kind: Kind
        public let messageID: String
        public let attempts: Int
        public let at: Date
    }

    static func isJournaled(_ queue: String) -> Bool {
        queue.hasPrefix(Self.prefix)
    }

    /// Journals `messages` of `queue` (nothing for a queue that is not journaled).
    static func record(_ kind: Kind, queue: String, messages: [(id: String, attempts: Int)], at now: Int64, on connection: any DatabaseConnection)
        async throws
    {
        guard Self.isJournaled(queue) else { return }
        try await Self.record(kind, lines: messages.map { (queue, $0.id, $0.attempts) }, at: now, on: connection)
    }

    /// Journals messages of any queues, those of journaled queues only, with one statement per
    /// ``MessageStore/rowsPerStatement`` lines.
    static func record(
        _ kind: Kind, lines: [(queue: String, id: String, attempts: Int)], at now: Int64, on connection: any DatabaseConnection
    ) async throws {
        let journaled = lines.filter { Self.isJournaled($0.queue) }
        let rows = MessageStore.rowsPerStatement
        for start in stride(from: 0, to: journaled.count, by: rows) {
            var query: SQLQuery = "INSERT INTO bus_queue_journal (queue, event, message_id, attempts, at) VALUES "
            for (index, line) in journaled[start..<min(start + rows, journaled.count)].enumerated() {
                query.append("\(unsafe: index == 0 ? "" : ", ")(\(line.queue), \(kind.rawValue), \(line.id), \(Int64(line.attempts)), \(now))")
            }
            try await connection.execute(query)
        }
    }

    /// Journals the messages `seqs` of `bus_messages` as they are now (before a move or a delete).
    static func record(_ kind: Kind, seqs: [Int64], at now: Int64, on connection: any DatabaseConnection) async throws {
        guard !seqs.isEmpty else { return }
        try await connection.execute(
            """
            INSERT INTO bus_queue_journal (queue, event, message_id, attempts, at)
            SELECT queue, \(kind.rawValue), message_id, attempts, \(now) FROM bus_messages
            WHERE seq IN (\(list: seqs)) AND substr(queue, 1, 5) = \(Self.prefix)
            """
        )
    }
}

extension MessageStore {
    /// Up to `limit` journal entries of `queue` after `after` (a previous page's last seq), oldest first.
    public func journal(queue: String, after: Int64?, limit: Int) async throws -> [QueueJournal.Entry] {
        try await self.database.query(
            """
            SELECT seq, event, message_id, attempts, at FROM bus_queue_journal
            WHERE queue = \(queue) AND seq > \(after ?? 0) ORDER BY seq LIMIT \(limit)
            """
        ).map { row in
            QueueJournal.Entry(
                seq: try row.int("seq"), kind: QueueJournal.Kind(rawValue: try row.string("event")) ?? .enqueued,
                messageID: try row.string("message_id"), attempts: Int(try row.int("attempts")),
                at: Timestamp.date(milliseconds: try row.int("at")))
        }
    }

    /// Removes journal entries written before `cutoff`. Returns how many went.
    @discardableResult
    public func pruneJournal(before cutoff: Date) async throws -> Int {
        let cutoff = Timestamp.milliseconds(cutoff)
        return try await self.database.query("DELETE FROM bus_queue_journal WHERE at < \(cutoff) RETURNING seq").count
    }
}
