import Foundation
public import Messaging
public import PortcullisCore
public import ServiceLifecycle
public import Storage

/// A fresh database with the messaging tables, its wake-up listener running, for `body`.
public func withMessaging<Result: Sendable>(
    _ backend: Backend,
    retry: RetryPolicy = RetryPolicy(maxAttempts: 3, baseDelay: .milliseconds(10), maxDelay: .milliseconds(50)),
    pollInterval: Duration = .seconds(5),
    clock: WallClock = .system,
    _ body: @Sendable (any Database, Messaging) async throws -> Result
) async throws -> Result {
    try await TestDatabases.withDatabase(backend) { database in
        try await MigrationRunner(database: database, migrations: MessagingMigrations.all, logger: TestDatabases.logger).migrate()
        let messaging = Messaging(database: database, retry: retry, pollInterval: pollInterval, clock: clock, logger: TestDatabases.logger)
        return try await withServices([messaging.wakeUps]) {
            try await body(database, messaging)
        }
    }
}

/// Runs `services` in the background for the duration of `body`, then cancels them and waits for them.
public func withServices<Result: Sendable>(_ services: [any Service], _ body: @Sendable () async throws -> Result) async throws -> Result {
    try await withThrowingTaskGroup(of: Void.self) { group in
        for service in services {
            group.addTask { try await service.run() }
        }
        defer { group.cancelAll() }
        return try await body()
    }
}

/// Collects what handlers saw, and lets a test wait until enough has arrived.
public actor Recorder<Element: Sendable> {
    public private(set) var items: [Element] = []

    public init() {}

    public func record(_ item: Element) {
        self.items.append(item)
    }

    /// Waits until at least `count` items arrived, or `timeout` passed; returns what arrived.
    public func waitFor(count: Int, timeout: Duration = .seconds(30)) async -> [Element] {
        let deadline = ContinuousClock.now + timeout
        while self.items.count < count && ContinuousClock.now < deadline && !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(10))
        }
        return self.items
    }
}

/// A test event on `name` with a small payload.
public func testEvent(_ name: String, _ number: Int = 0) throws -> Event {
    try Event(name: name, serviceName: "tests", payload: ["n": number], now: Date())
}

/// Polls `condition` until it holds or `timeout` passes; returns whether it held. For effects that follow a
/// handler's return (an ack, a purge) and so cannot be awaited directly.
public func eventually(timeout: Duration = .seconds(30), _ condition: @Sendable () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    // A cancelled test stops polling: its sleeps would return at once and spin a cooperative thread.
    while ContinuousClock.now < deadline && !Task.isCancelled {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return try await condition()
}
