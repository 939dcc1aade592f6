import Foundation
public import PortcullisCore
public import Storage

/// Work queues for components (`flow-<flowId>:<nodeId>:messages`): enqueue, lease with long-poll, ack, nack.
public protocol WorkQueue: Sendable {
    /// Adds `message` unless the queue holds one with `messageID` already; inside `connection`'s transaction when given.
    @discardableResult
    func enqueue(_ queue: String, messageID: String, message: JSONValue, on connection: (any DatabaseConnection)?) async throws -> Bool

    /// Leases up to `max` messages for `visibility`, waiting up to `wait` for the first one to arrive.
    func lease(_ queue: String, max: Int, visibility: Duration, wait: Duration) async throws -> [QueuedMessage]

    /// Removes a delivered message; false when the lease is stale.
    func ack(_ queue: String, seq: Int64, leaseID: String) async throws -> Bool

    /// Returns a message for another try after `retryAfter` (default: the retry policy's base delay), or
    /// dead-letters it when it is out of attempts.
    func nack(_ queue: String, seq: Int64, leaseID: String, retryAfter: Duration?, error: String) async throws -> NackOutcome

    func depth(_ queue: String) async throws -> Int
}

/// ``WorkQueue`` on the ``MessageStore``, woken by ``QueueSignals``.
public struct DatabaseWorkQueue: WorkQueue {
    let store: MessageStore
    let signals: QueueSignals
    let retry: RetryPolicy
    /// Longest a waiting lease goes without re-checking the table, in case a wake-up was lost.
    let pollInterval: Duration

    public init(store: MessageStore, signals: QueueSignals, retry: RetryPolicy = RetryPolicy(), pollInterval: Duration = .seconds(5)) {
        self.store = store
        self.signals = signals
        self.retry = retry
        self.pollInterval = pollInterval
    }

    @discardableResult
    public func enqueue(_ queue: String, messageID: String, message: JSONValue, on connection: (any DatabaseConnection)? = nil) async throws -> Bool {
        try await self.store.enqueue(queue: queue, messageID: messageID, body: try JSONCoding.string(message), on: connection)
    }

    public func lease(_ queue: String, max: Int, visibility: Duration, wait: Duration) async throws -> [QueuedMessage] {
        let deadline = ContinuousClock.now + wait
        while true {
            let generation = self.signals.generation(of: queue)
            let leaseID = RandomUUID.string()
            let messages: [QueuedMessage]
            do {
                messages = try await self.store.claim(
                    queue: queue, max: max, visibility: visibility, maxAttempts: self.retry.maxAttempts, leaseID: leaseID)
            } catch {
                // The claim may have committed without its answer arriving: give back what it leased, in the
                // background (best effort; otherwise the lease expires), and report the failure now.
                let store = self.store
                Task {
                    for delay in [1, 2, 4, 8] {
                        try? await Task.sleep(for: .seconds(delay))
                        if (try? await store.releaseLease(queue: queue, leaseID: leaseID)) != nil { return }
                    }
                }
                throw error
            }
            let remaining = deadline - ContinuousClock.now
            if !messages.isEmpty || remaining <= .zero || Task.isCancelled {
                return messages
            }
            let nextVisible = try await self.store.timeUntilNextVisible(queue: queue) ?? self.pollInterval
            await self.signals.wait(
                queue: queue, unlessChangedFrom: generation,
                timeout: min(remaining, self.pollInterval, nextVisible + .milliseconds(5))
            )
        }
    }

    public func ack(_ queue: String, seq: Int64, leaseID: String) async throws -> Bool {
        try await self.store.ack(queue: queue, seq: seq, leaseID: leaseID)
    }

    public func nack(_ queue: String, seq: Int64, leaseID: String, retryAfter: Duration?, error: String) async throws -> NackOutcome {
        try await self.store.nack(
            queue: queue, seq: seq, leaseID: leaseID, delay: retryAfter ?? self.retry.baseDelay,
            maxAttempts: self.retry.maxAttempts, error: error
        )
    }

    public func depth(_ queue: String) async throws -> Int {
        try await self.store.depth(queue: queue)
    }

    /// Enqueues into a provisioned queue only (a running flow's step queue) of the run `round` the caller
    /// checked the message against, holding the queue (shared) until the transaction ends, so that a
    /// removal waits for this message or comes first.
    ///
    /// - Throws: ``QueueNotProvisioned`` when the queue does not exist for that run (its flow is not
    ///   running, or runs again since: a message checked under one run's settings never lands in the next).
    @discardableResult
    public func enqueue(
        intoProvisioned queue: String, round: Int64, messageID: String, message: JSONValue, on connection: (any DatabaseConnection)? = nil
    ) async throws -> Bool {
        let body = try JSONCoding.string(message)
        let write: @Sendable (any DatabaseConnection) async throws -> Bool = { connection in
            let batch = [ProvisionedMessage(queue: queue, round: round, messageID: messageID, body: body)]
            switch try await self.enqueue(intoProvisioned: batch, on: connection).first {
            case .added: return true
            case .alreadyQueued: return false
            case .notProvisioned, nil: throw QueueNotProvisioned(queue: queue)
            }
        }
        if let connection { return try await write(connection) }
        return try await self.store.database.transaction(write)
    }

    /// A message for a provisioned queue of the run `round`.
    public struct ProvisionedMessage: Sendable, Equatable {
        public let message: MessageStore.Outgoing
        public let round: Int64

        /// - Parameter visibleAt: when it may be leased (milliseconds; nil: at once).
        public init(queue: String, round: Int64, messageID: String, body: String, visibleAt: Int64? = nil) {
            self.message = MessageStore.Outgoing(queue: queue, messageID: messageID, body: body, visibleAt: visibleAt)
            self.round = round
        }
    }

    /// What became of one message of ``enqueue(intoProvisioned:on:)``.
    public enum ProvisionedOutcome: Sendable, Equatable {
        case added
        /// Its queue holds a message with its id already.
        case alreadyQueued
        /// Its queue does not exist for its run (see ``QueueNotProvisioned``).
        case notProvisioned
    }

    /// ``enqueue(intoProvisioned:round:messageID:message:on:)`` for many messages, in `connection`'s
    /// transaction and with a few statements however many there are: the queues are held (shared) in one
    /// statement per ``MessageStore/rowsPerStatement`` queues, and the messages of those provisioned for
    /// their message's run are added by ``MessageStore/enqueue(_:on:)``.
    ///
    /// - Returns: the outcome of each message, in the order of `messages`.
    public func enqueue(intoProvisioned messages: [ProvisionedMessage], on connection: any DatabaseConnection) async throws
        -> [ProvisionedOutcome]
    {
        let names = Set(messages.map(\.message.queue)).sorted()
        let lock: SQLQuery = connection.dialect == .postgres ? " FOR SHARE" : ""
        var provisioned: [String: Int64] = [:]
        for start in stride(from: 0, to: names.count, by: MessageStore.rowsPerStatement) {
            let chunk = Array(names[start..<min(start + MessageStore.rowsPerStatement, names.count)])
            for row in try await connection.query("SELECT queue, round FROM bus_queues WHERE queue IN (\(list: chunk)) ORDER BY queue\(lock)") {
                provisioned[try row.string("queue")] = try row.int("round")
            }
        }
        let eligible = messages.indices.filter { provisioned[messages[$0].message.queue] == messages[$0].round }
        let added = try await self.store.enqueue(eligible.map { messages[$0].message }, on: connection)
        var outcomes = [ProvisionedOutcome](repeating: .notProvisioned, count: messages.count)
        for (position, index) in eligible.enumerated() {
            outcomes[index] = added.contains(position) ? .added : .alreadyQueued
        }
        return outcomes
    }

    /// Gives back what `leaseID` holds in `queue`, without counting the delivery.
    @discardableResult
    public func release(_ queue: String, leaseID: String) async throws -> Int {
        try await self.store.releaseLease(queue: queue, leaseID: leaseID)
    }

    /// Acks the message `messageID` of `queue` held under `leaseID` while the lease lasts; false when that
    /// lease is not current (expired, or the message settled).
    public func ack(_ queue: String, messageID: String, leaseID: String) async throws -> Bool {
        guard let seq = try await self.store.seq(queue: queue, messageID: messageID, leaseID: leaseID) else { return false }
        return try await self.ack(queue, seq: seq, leaseID: leaseID)
    }

    /// Nacks the message `messageID` of `queue` held under `leaseID`.
    public func nack(_ queue: String, messageID: String, leaseID: String, retryAfter: Duration?, error: String) async throws -> NackOutcome {
        guard let seq = try await self.store.seq(queue: queue, messageID: messageID, leaseID: leaseID) else { return .staleLease }
        return try await self.nack(queue, seq: seq, leaseID: leaseID, retryAfter: retryAfter, error: error)
    }
}

/// An enqueue into a queue that does not exist (a flow step queue of a flow that is not running).
public struct QueueNotProvisioned: Error, Sendable, Equatable {
    public let queue: String
}
