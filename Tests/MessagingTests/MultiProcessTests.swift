import Foundation
import Messaging
import PortcullisCore
import Storage
import TestSupport
import Testing

/// Messaging across real processes: `bus-worker` children stand in for other replicas.
@Suite("Messaging across processes")
struct MultiProcessTests {
    /// A fresh database with the messaging tables, the argument that points a `bus-worker` at it, and this
    /// process's messaging running against it.
    static func withSharedDatabase(
        _ backend: Backend,
        pollInterval: Duration = .seconds(5),
        _ body: @Sendable (any Database, Messaging, String) async throws -> Void
    ) async throws {
        let location = try await TestDatabases.create(backend)
        let workerArgument: String
        switch location {
        case .sqlite(let path): workerArgument = path
        case .postgres: workerArgument = try #require(try TestDatabases.environment(for: location)["DATABASE_URL"])
        }
        do {
            let database = try await DatabaseFactory.open(location, maximumConnections: 8, leaseTimeout: .seconds(60), logger: TestDatabases.logger)
            try await database.whileRunning {
                try await MigrationRunner(database: database, migrations: MessagingMigrations.all, logger: TestDatabases.logger).migrate()
                let messaging = Messaging(database: database, pollInterval: pollInterval, logger: TestDatabases.logger)
                try await withServices([messaging.wakeUps]) {
                    try await body(database, messaging, workerArgument)
                }
            }
            try await TestDatabases.drop(location)
        } catch {
            try? await TestDatabases.drop(location)
            throw error
        }
    }

    @Test("two processes in one group handle each of 1,000 events exactly once between them")
    func twoProcessesExactlyOnce() async throws {
        try await Self.withSharedDatabase(.postgres) { database, messaging, url in
            try await database.execute("CREATE TABLE probe_handled (event_id TEXT NOT NULL, worker TEXT NOT NULL)")
            let workers = try ["A", "B"].map { try ChildProcess("bus-worker", arguments: ["consume", url, "probe", "probe.#", $0]) }
            for worker in workers {
                try await worker.waitForOutput("ready")
            }
            let events = try (0..<1000).map { try testEvent("probe.work", $0) }
            for chunk in stride(from: 0, to: events.count, by: 100) {
                try await database.transaction { connection in
                    for event in events[chunk..<min(chunk + 100, events.count)] {
                        try await messaging.bus.publish(event, on: connection)
                    }
                }
            }
            let deadline = ContinuousClock.now + .seconds(120)
            var handled: Int64 = 0
            while handled < 1000 && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(100))
                handled = try await database.first("SELECT COUNT(*) AS n FROM probe_handled")?.int("n") ?? 0
            }
            // Let any duplicate delivery surface before counting for good.
            try await Task.sleep(for: .milliseconds(500))
            for worker in workers {
                #expect(try await worker.stop() == 0)
            }
            let totals = try #require(
                try await database.first("SELECT COUNT(*) AS total, COUNT(DISTINCT event_id) AS distinct_events FROM probe_handled")
            )
            #expect(try totals.int("total") == 1000)
            #expect(try totals.int("distinct_events") == 1000)
            let handledIDs = Set(try await database.query("SELECT event_id FROM probe_handled").map { try $0.string("event_id") })
            #expect(handledIDs.symmetricDifference(events.map(\.id)).isEmpty, "the handled events are exactly the published ones")
            let shares = try await database.query("SELECT worker, COUNT(*) AS n FROM probe_handled GROUP BY worker ORDER BY worker")
            #expect(shares.count == 2, "both processes took part: \(shares)")
        }
    }

    @Test("a consumer killed mid-handling has its message redelivered after the visibility timeout", arguments: Backend.allCases)
    func killedConsumer(backend: Backend) async throws {
        try await Self.withSharedDatabase(backend) { _, messaging, location in
            let worker = try ChildProcess("bus-worker", arguments: ["hang", location, "g", "#", "1000"])
            try await worker.waitForOutput("ready")
            let event = try testEvent("flow.starting")
            try await messaging.bus.publish(event)
            try await worker.waitForOutput("handling \(event.id)")
            try await worker.crash()

            let deliveries = Recorder<Int>()
            let consumer = try await messaging.bus.subscribe(
                group: "g", patterns: ["#"], options: ConsumerOptions(pollInterval: .milliseconds(200))
            ) { received, delivery in
                if received.id == event.id { await deliveries.record(delivery.attempts) }
            }
            try await withServices([consumer]) {
                #expect(await deliveries.waitFor(count: 1) == [2], "redelivered once, as the second attempt")
            }
        }
    }

    @Test("a waiting lease wakes up when another process enqueues")
    func crossProcessWakeUp() async throws {
        // A two-minute poll interval: only LISTEN/NOTIFY can bring the message within the 20-second wait.
        try await Self.withSharedDatabase(.postgres, pollInterval: .seconds(120)) { _, messaging, url in
            let queue = "flow-f9:step_1:messages"
            async let leased = messaging.queues.lease(queue, max: 1, visibility: .seconds(30), wait: .seconds(20))
            try await Task.sleep(for: .milliseconds(300))
            let producer = try ChildProcess("bus-worker", arguments: ["enqueue", url, queue, "from-elsewhere"])
            #expect(try await producer.waitForExit() == 0)
            let messages = try await leased
            #expect(messages.map(\.messageID) == ["from-elsewhere"])
        }
    }
}
