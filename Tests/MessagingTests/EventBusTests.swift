import Foundation
import Messaging
import PortcullisCore
import ServiceLifecycle
import Storage
import TestSupport
import Testing

@Suite("Event bus on both backends")
struct EventBusTests {
    static let fast = ConsumerOptions(
        batchSize: 10, visibility: .seconds(30), retry: RetryPolicy(maxAttempts: 3, baseDelay: .milliseconds(10)), pollInterval: .milliseconds(200))

    @Test("each subscribed group gets its own copy; a group whose patterns do not match gets none", arguments: Backend.allCases)
    func fanOut(backend: Backend) async throws {
        try await withMessaging(backend) { _, messaging in
            let flows = Recorder<String>()
            let audit = Recorder<String>()
            let other = Recorder<String>()
            let consumers = [
                try await messaging.bus.subscribe(group: "flows", patterns: ["flow.*"], options: Self.fast) { event, _ in
                    await flows.record(event.name)
                },
                try await messaging.bus.subscribe(group: "audit", patterns: ["#"], options: Self.fast) { event, _ in await audit.record(event.name) },
                try await messaging.bus.subscribe(group: "other", patterns: ["iam.#"], options: Self.fast) { event, _ in
                    await other.record(event.name)
                },
            ]
            try await withServices(consumers) {
                try await messaging.bus.publish(try testEvent("flow.starting"))
                #expect(await flows.waitFor(count: 1) == ["flow.starting"])
                #expect(await audit.waitFor(count: 1) == ["flow.starting"])
                try await Task.sleep(for: .milliseconds(300))
                #expect(await other.items.isEmpty)
            }
        }
    }

    @Test("the envelope arrives unchanged, createdAt included", arguments: Backend.allCases)
    func envelopePreserved(backend: Backend) async throws {
        try await withMessaging(backend) { _, messaging in
            let received = Recorder<Event>()
            let consumer = try await messaging.bus.subscribe(group: "g", patterns: ["#"], options: Self.fast) { event, _ in
                await received.record(event)
            }
            let sent = try Event(
                name: "flow.started", serviceName: "orchestrator", payload: ["id": "f1"], requestID: "req-1", tenant: "t1",
                now: Date(timeIntervalSince1970: 1_700_000_000.5)
            )
            try await withServices([consumer]) {
                try await messaging.bus.publish(sent)
                #expect(await received.waitFor(count: 1) == [sent])
            }
            #expect(sent.headers.createdAt == "2023-11-14T22:13:20.500Z")
        }
    }

    @Test("replicas of one group compete: disjoint shares whose union is everything", arguments: Backend.allCases)
    func competingConsumers(backend: Backend) async throws {
        try await withMessaging(backend) { _, messaging in
            let first = Recorder<String>()
            let second = Recorder<String>()
            let options = ConsumerOptions(batchSize: 3, pollInterval: .milliseconds(100))
            let replicas = [
                try await messaging.bus.subscribe(group: "workers", patterns: ["job.#"], options: options) { event, _ in
                    await first.record(event.id)
                    try await Task.sleep(for: .milliseconds(2))
                },
                try await messaging.bus.subscribe(group: "workers", patterns: ["job.#"], options: options) { event, _ in
                    await second.record(event.id)
                    try await Task.sleep(for: .milliseconds(2))
                },
            ]
            let events = try (0..<100).map { try testEvent("job.run", $0) }
            let published = Set(events.map(\.id))
            try await withServices(replicas) {
                for event in events {
                    try await messaging.bus.publish(event)
                }
                let deadline = ContinuousClock.now + .seconds(60)
                while await first.items.count + second.items.count < 100 && ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(20))
                }
            }
            let a = await first.items
            let b = await second.items
            #expect(a.count + b.count == 100, "each event handled exactly once")
            #expect(Set(a).isDisjoint(with: Set(b)))
            #expect(Set(a).union(Set(b)) == published)
        }
    }

    @Test("an event published in a rolled-back transaction is never delivered", arguments: Backend.allCases)
    func transactionalRollback(backend: Backend) async throws {
        struct Abort: Error {}
        try await withMessaging(backend) { database, messaging in
            _ = try await messaging.bus.subscribe(group: "g", patterns: ["#"], options: Self.fast) { _, _ in }
            await #expect(throws: Abort.self) {
                try await database.transaction { connection in
                    try await messaging.bus.publish(try testEvent("flow.starting"), on: connection)
                    throw Abort()
                }
            }
            #expect(try await messaging.store.depth(queue: "bus:g") == 0)
            try await database.transaction { connection in
                try await messaging.bus.publish(try testEvent("flow.starting"), on: connection)
            }
            #expect(try await messaging.store.depth(queue: "bus:g") == 1)
        }
    }

    @Test("a handler that keeps failing is retried, then dead-lettered with its error", arguments: Backend.allCases)
    func retriedThenDeadLettered(backend: Backend) async throws {
        struct Broken: Error, CustomStringConvertible { var description: String { "downstream is broken" } }
        try await withMessaging(backend) { _, messaging in
            let attempts = Recorder<Int>()
            let consumer = try await messaging.bus.subscribe(group: "g", patterns: ["#"], options: Self.fast) { _, delivery in
                await attempts.record(delivery.attempts)
                throw Broken()
            }
            let event = try testEvent("flow.starting")
            try await withServices([consumer]) {
                try await messaging.bus.publish(event)
                #expect(await attempts.waitFor(count: 3) == [1, 2, 3])
                let deadline = ContinuousClock.now + .seconds(30)
                while try await messaging.store.deadLetters(offset: 0, limit: 10).total == 0 && ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(20))
                }
            }
            let (letters, total) = try await messaging.store.deadLetters(offset: 0, limit: 10)
            #expect(total == 1)
            let letter = try #require(letters.first)
            #expect(letter.queue == "bus:g")
            #expect(letter.messageID == event.id)
            #expect(letter.attempts == 3)
            #expect(letter.lastError == "downstream is broken")
            #expect(try await messaging.store.depth(queue: "bus:g") == 0)
            // No fourth attempt after dead-lettering.
            #expect(await attempts.items.count == 3)
        }
    }

    @Test("a batch handler takes a claimed batch whole; when it fails, each event goes its own way", arguments: Backend.allCases)
    func batchHandler(backend: Backend) async throws {
        struct Poison: Error {}
        try await withMessaging(backend) { _, messaging in
            let batches = Recorder<Int>()
            let refused = Recorder<Int>()
            let singles = Recorder<String>()
            let subscribe: @Sendable () async throws -> BusConsumer = {
                try await messaging.bus.subscribe(
                    group: "g", patterns: ["#"], options: Self.fast,
                    batchHandler: { events in
                        if events.contains(where: { $0.name == "job.poison" }) {
                            await refused.record(events.count)
                            throw Poison()
                        }
                        await batches.record(events.count)
                    }
                ) { event, _ in
                    if event.name == "job.poison" { throw Poison() }
                    await singles.record(event.name)
                }
            }
            // Published while no consumer runs (each subscribed first), so its first claim holds them all (a claim running while they are
            // written may see only the older ones: each row becomes visible at its own insert time).
            let first = try await subscribe()
            for index in 0..<5 { try await messaging.bus.publish(try testEvent("job.run\(index)")) }
            try await withServices([first]) { () async throws -> Void in
                #expect(await batches.waitFor(count: 1) == [5])
                #expect(try await eventually { try await messaging.store.depth(queue: "bus:g") == 0 })
            }
            let second = try await subscribe()
            try await messaging.bus.publish(contentsOf: try ["job.a", "job.poison", "job.b"].map { try testEvent($0) })
            try await withServices([second]) { () async throws -> Void in
                let handled = await singles.waitFor(count: 2)
                #expect(Set(handled) == ["job.a", "job.b"])
                #expect(try await eventually { try await messaging.store.deadLetters(offset: 0, limit: 10).total == 1 })
            }
            #expect(await singles.items.count == 2)
            #expect(await batches.items == [5])
            #expect(await refused.items == [3])
        }
    }

    @Test("a handler that fails once succeeds on the retry", arguments: Backend.allCases)
    func retrySucceeds(backend: Backend) async throws {
        struct Flaky: Error {}
        try await withMessaging(backend) { _, messaging in
            let attempts = Recorder<Int>()
            let consumer = try await messaging.bus.subscribe(group: "g", patterns: ["#"], options: Self.fast) { _, delivery in
                await attempts.record(delivery.attempts)
                if delivery.attempts == 1 { throw Flaky() }
            }
            try await withServices([consumer]) {
                try await messaging.bus.publish(try testEvent("x.y"))
                #expect(await attempts.waitFor(count: 2) == [1, 2])
                // The ack follows the handler's return.
                #expect(try await eventually { try await messaging.store.depth(queue: "bus:g") == 0 })
            }
            #expect(try await messaging.store.deadLetters(offset: 0, limit: 1).total == 0)
        }
    }

    @Test("events published while a group is down are delivered when it comes back", arguments: Backend.allCases)
    func offlineGroup(backend: Backend) async throws {
        try await withMessaging(backend) { _, messaging in
            // The group subscribed once (say, in an earlier run) and is not running now.
            _ = try await messaging.bus.subscribe(group: "late", patterns: ["flow.*"], options: Self.fast) { _, _ in }
            let events = try (0..<5).map { try testEvent("flow.stopped", $0) }
            for event in events {
                try await messaging.bus.publish(event)
            }
            let received = Recorder<String>()
            let consumer = try await messaging.bus.subscribe(group: "late", patterns: ["flow.*"], options: Self.fast) { event, _ in
                await received.record(event.id)
            }
            try await withServices([consumer]) {
                #expect(Set(await received.waitFor(count: 5)) == Set(events.map(\.id)))
            }
        }
    }

    @Test("a re-subscription replaces the group's patterns", arguments: Backend.allCases)
    func resubscribe(backend: Backend) async throws {
        try await withMessaging(backend) { _, messaging in
            _ = try await messaging.bus.subscribe(group: "g", patterns: ["flow.*", "iam.#"], options: Self.fast) { _, _ in }
            _ = try await messaging.bus.subscribe(group: "g", patterns: ["flow.*"], options: Self.fast) { _, _ in }
            try await messaging.bus.publish(try testEvent("iam.user.created"))
            #expect(try await messaging.store.depth(queue: "bus:g") == 0)
            try await messaging.bus.publish(try testEvent("flow.started"))
            #expect(try await messaging.store.depth(queue: "bus:g") == 1)
        }
    }

    @Test("publishing the same event twice delivers it once per group", arguments: Backend.allCases)
    func duplicatePublish(backend: Backend) async throws {
        try await withMessaging(backend) { _, messaging in
            _ = try await messaging.bus.subscribe(group: "g", patterns: ["#"], options: Self.fast) { _, _ in }
            let event = try testEvent("flow.started")
            try await messaging.bus.publish(event)
            try await messaging.bus.publish(event)
            #expect(try await messaging.store.depth(queue: "bus:g") == 1)
        }
    }

    @Test("once() runs its body only for the first delivery of an event id", arguments: Backend.allCases)
    func idempotency(backend: Backend) async throws {
        try await withMessaging(backend) { database, messaging in
            try await database.execute("CREATE TABLE effects (event_id TEXT NOT NULL)")
            let ran = Recorder<Bool>()
            let consumer = try await messaging.bus.subscribe(group: "g", patterns: ["#"], options: Self.fast) { event, delivery in
                let didRun = try await delivery.once { connection in
                    try await connection.execute("INSERT INTO effects (event_id) VALUES (\(event.id))")
                }
                await ran.record(didRun)
            }
            let event = try testEvent("flow.started")
            try await withServices([consumer]) {
                try await messaging.bus.publish(event)
                _ = await ran.waitFor(count: 1)
                // The same event again (a redelivery after a lost ack looks exactly like this).
                try await messaging.store.enqueue(
                    queue: "bus:g", messageID: "redelivery", body: String(decoding: try JSONEncoder().encode(event), as: UTF8.self))
                #expect(await ran.waitFor(count: 2) == [true, false])
            }
            let effects = try await database.first("SELECT COUNT(*) AS n FROM effects")
            #expect(try effects?.int("n") == 1)
        }
    }

    @Test("invalid topics, patterns and group names are refused", arguments: Backend.allCases)
    func validation(backend: Backend) async throws {
        try await withMessaging(backend) { _, messaging in
            await #expect(throws: MessagingError.invalidTopic("flow.*")) { try await messaging.bus.publish(try testEvent("flow.*")) }
            await #expect(throws: MessagingError.invalidPattern("flow..x")) {
                _ = try await messaging.bus.subscribe(group: "g", patterns: ["flow..x"]) { _, _ in }
            }
            await #expect(throws: MessagingError.invalidGroup("Bad Group")) {
                _ = try await messaging.bus.subscribe(group: "Bad Group", patterns: ["#"]) { _, _ in }
            }
        }
    }

    @Test("graceful shutdown gives back unhandled leases without counting them", arguments: Backend.allCases)
    func gracefulShutdownReleases(backend: Backend) async throws {
        try await withMessaging(backend) { _, messaging in
            let started = Recorder<String>()
            let consumer = try await messaging.bus.subscribe(
                group: "g", patterns: ["#"], options: ConsumerOptions(batchSize: 5, visibility: .seconds(600), pollInterval: .milliseconds(100))
            ) { event, _ in
                await started.record(event.id)
                try? await Task.sleep(for: .milliseconds(300))
            }
            for number in 0..<5 {
                try await messaging.bus.publish(try testEvent("job.run", number))
            }
            let group = ServiceGroup(services: [consumer], logger: TestDatabases.logger)
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                _ = await started.waitFor(count: 1)
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
            }
            // The one in hand finished and was acked; the other four are back, visible now, attempts not counted.
            let handled = await started.items.count
            #expect(handled == 1, "only the message in hand when shutdown began is handled")
            #expect(try await messaging.store.depth(queue: "bus:g") == 5 - handled)
            let again = try await messaging.store.claim(queue: "bus:g", max: 10, visibility: .seconds(1), maxAttempts: 10)
            #expect(again.count == 5 - handled)
            #expect(again.allSatisfy { $0.attempts == 1 })
        }
    }
}
