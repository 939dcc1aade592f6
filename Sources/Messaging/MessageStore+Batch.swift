public import Storage

extension MessageStore {
    /// A message to add to a queue: its id, which the queue holds once, its body (JSON text), and when it
    /// may be leased (milliseconds; nil or a time passed: at once).
    public struct Outgoing: Sendable, Equatable {
        public let queue: String
        public let messageID: String
        public let body: String
        public let visibleAt: Int64?

        public init(queue: String, messageID: String, body: String, visibleAt: Int64? = nil) {
            self.queue = queue
            self.messageID = messageID
            self.body = body
            self.visibleAt = visibleAt
        }
    }

    /// Adds each of `messages` that its queue does not hold yet, in `connection`'s transaction, with a few
    /// statements however many there are (one per ``rowsPerStatement`` messages, and as many for their
    /// journal lines), and wakes the waiting consumers of each queue that got one. ``enqueue(queue:messageID:body:delay:on:)``
    /// does the same for one message.
    ///
    /// - Returns: the positions in `messages` of those added; a message whose queue and id came earlier in
    ///   `messages`, or that its queue already holds, is not added.
    public func enqueue(_ messages: [Outgoing], on connection: any DatabaseConnection) async throws -> Set<Int> {
        let now = self.nowMilliseconds
        var position: [Key: Int] = [:]
        for (index, message) in messages.enumerated() where position[Key(message)] == nil {
            position[Key(message)] = index
        }
        var added: Set<Int> = []
        for start in stride(from: 0, to: messages.count, by: Self.rowsPerStatement) {
            var query: SQLQuery = "INSERT INTO bus_messages (queue, message_id, body, attempts, enqueued_at, visible_at) VALUES "
            for (index, message) in messages[start..<min(start + Self.rowsPerStatement, messages.count)].enumerated() {
                let visibleAt = max(now, message.visibleAt ?? now)
                query.append("\(unsafe: index == 0 ? "" : ", ")(\(message.queue), \(message.messageID), \(message.body), 0, \(now), \(visibleAt))")
            }
            query.append(" ON CONFLICT (queue, message_id) DO NOTHING RETURNING queue, message_id")
            for row in try await connection.query(query) {
                let key = Key(queue: try row.string("queue"), messageID: try row.string("message_id"))
                if let index = position[key] { added.insert(index) }
            }
        }
        let inserted = added.sorted().map { messages[$0] }
        try await QueueJournal.record(.enqueued, lines: inserted.map { ($0.queue, $0.messageID, 0) }, at: now, on: connection)
        // Each queue's waiters are woken by name (one statement for them all on PostgreSQL): a waiting lease
        // learns of the message even when it can be leased only later, and waits for that time.
        let queues = Set(inserted.map(\.queue)).sorted()
        if !queues.isEmpty {
            try await self.database.notify(channel: Self.channel, payloads: queues, on: connection)
        }
        return added
    }

    /// Removes the messages of `queue` whose ids start with `idPrefix` that were written ahead and cannot be
    /// leased yet (never delivered, visible only after `now`), in `connection`'s transaction: what a producer
    /// withdraws when what it wrote ahead no longer holds (a scheduled flow stopping). Returns how many went.
    @discardableResult
    public static func withdrawUnseen(queue: String, idPrefix: String, at now: Int64, on connection: any DatabaseConnection) async throws
        -> Int
    {
        try await connection.query(
            """
            DELETE FROM bus_messages WHERE queue = \(queue) AND attempts = 0 AND lease_id IS NULL AND visible_at > \(now)
                AND substr(message_id, 1, CAST(\(Int64(idPrefix.count)) AS INTEGER)) = \(idPrefix)
            RETURNING seq
            """
        ).count
    }

    /// Rows (messages, journal lines, queue names) per statement: at most 6 parameters each, well within
    /// both backends' limits.
    static let rowsPerStatement = 500

    private struct Key: Hashable {
        let queue: String
        let messageID: String

        init(queue: String, messageID: String) {
            self.queue = queue
            self.messageID = messageID
        }

        init(_ message: Outgoing) {
            self.init(queue: message.queue, messageID: message.messageID)
        }
    }
}
