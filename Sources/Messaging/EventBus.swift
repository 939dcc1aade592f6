public import Logging
public import PortcullisCore
import ServiceLifecycle
public import Storage

/// Handles one event for a consumer group. Throwing means "retry later".
public typealias EventHandler = @Sendable (Event, Delivery) async throws -> Void

/// Handles a claimed batch of events at once (one transaction for all, say). Throwing makes the consumer
/// fall back to the one-event ``EventHandler`` for each, so that one bad event is retried and
/// dead-lettered on its own. It must therefore be all-or-nothing.
public typealias EventBatchHandler = @Sendable ([Event]) async throws -> Void

/// The durable topic bus: publishers name a topic, each subscribed group receives each matching event once.
public protocol EventBus: Sendable {
    /// Publishes `event` to every group whose patterns match its name. Given a transaction's connection, the
    /// event is part of that transaction (transactional outbox): it exists only if the transaction commits.
    func publish(_ event: Event, on connection: (any DatabaseConnection)?) async throws

    /// Registers `group`'s patterns (replacing its earlier ones; they persist, so events published while the
    /// group is down wait for it) and returns the consumer service to run, once per replica.
    func subscribe(
        group: String, patterns: [String], options: ConsumerOptions, batchHandler: EventBatchHandler?, handler: @escaping EventHandler
    ) async throws -> BusConsumer
}

extension EventBus {
    public func publish(_ event: Event) async throws {
        try await self.publish(event, on: nil)
    }
}

/// ``EventBus`` on the ``MessageStore``: one queue per group (`bus:<group>`), one row per group and event.
public struct DatabaseEventBus: EventBus {
    let store: MessageStore
    let signals: QueueSignals
    let logger: Logger

    public init(store: MessageStore, signals: QueueSignals, logger: Logger) {
        self.store = store
        self.signals = signals
        self.logger = logger
    }

    public static func queueName(group: String) -> String { "bus:\(group)" }

    public func publish(_ event: Event, on connection: (any DatabaseConnection)? = nil) async throws {
        try await self.publish(contentsOf: [event], on: connection)
    }

    /// Publishes `events` together: one transaction (or the caller's) for all of them, with the bindings read
    /// once. This is what group commit builds on.
    public func publish(contentsOf events: [Event], on connection: (any DatabaseConnection)? = nil) async throws {
        for event in events where !TopicPattern.isValidTopic(event.name) {
            throw MessagingError.invalidTopic(event.name)
        }
        let bodies = try events.map { try JSONCoding.string($0) }
        let deliver: @Sendable (any DatabaseConnection) async throws -> Void = { connection in
            // Read in the publishing transaction, so a group sees every event published after its
            // subscription committed.
            var bindings: [(group: String, pattern: TopicPattern)] = []
            for binding in try await connection.query("SELECT group_name, pattern FROM bus_subscriptions ORDER BY group_name") {
                if let pattern = try? TopicPattern(try binding.string("pattern")) {
                    bindings.append((try binding.string("group_name"), pattern))
                }
            }
            for (event, body) in zip(events, bodies) {
                let groups = Set(bindings.filter { $0.pattern.matches(event.name) }.map(\.group))
                for group in groups.sorted() {
                    try await self.store.enqueue(queue: Self.queueName(group: group), messageID: event.id, body: body, on: connection)
                }
            }
        }
        if let connection {
            try await deliver(connection)
        } else {
            try await self.store.database.transaction(deliver)
        }
    }

    /// Binds `group` to `patterns`, replacing its earlier ones. Bindings persist: from the moment this
    /// commits, matching events wait in the group's queue even while no consumer runs. Modules whose events
    /// must never be missed bind at start-up, before serving.
    public func bind(group: String, patterns: [String]) async throws {
        guard Self.isValidGroup(group) else { throw MessagingError.invalidGroup(group) }
        let parsed = try patterns.map { pattern throws(MessagingError) in try TopicPattern(pattern) }
        let now = self.store.nowMilliseconds
        try await self.store.database.transaction { connection in
            try await connection.execute(
                "DELETE FROM bus_subscriptions WHERE group_name = \(group) AND pattern NOT IN (\(list: parsed.map(\.description)))"
            )
            for pattern in parsed {
                try await connection.execute(
                    """
                    INSERT INTO bus_subscriptions (group_name, pattern, created_at) VALUES (\(group), \(pattern.description), \(now))
                    ON CONFLICT (group_name, pattern) DO NOTHING
                    """
                )
            }
        }
    }

    public func subscribe(
        group: String,
        patterns: [String],
        options: ConsumerOptions = ConsumerOptions(),
        batchHandler: EventBatchHandler? = nil,
        handler: @escaping EventHandler
    ) async throws -> BusConsumer {
        try await self.bind(group: group, patterns: patterns)
        return BusConsumer(
            group: group,
            store: self.store,
            signals: self.signals,
            options: options,
            batchHandler: batchHandler,
            handler: handler,
            logger: self.logger
        )
    }

    /// Group names: 1-100 of `a-z 0-9 . _ -`.
    public static func isValidGroup(_ group: String) -> Bool {
        (1...100).contains(group.count)
            && group.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "." || $0 == "_" || $0 == "-" }
    }
}
