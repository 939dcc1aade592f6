import Foundation
import Messaging
import PortcullisCore
import Storage
import TestSupport
import Testing

@Suite("Work queues on both backends")
struct WorkQueueTests {
    static let queue = "flow-f1:step_1:messages"

    @Test("enqueue, lease with attempts 1, ack removes", arguments: Backend.allCases)
    func leaseAndAck(backend: Backend) async throws {
        try await withMessaging(backend) { _, messaging in
            #expect(try await messaging.queues.enqueue(Self.queue, messageID: "m1", message: ["data": "x"], on: nil))
            #expect(try await messaging.queues.depth(Self.queue) == 1)
            let leased = try await messaging.queues.lease(Self.queue, max: 10, visibility: .seconds(30), wait: .zero)
            let message = try #require(leased.first)
            #expect(leased.count == 1)
            #expect(message.messageID == "m1")
            #expect(message.attempts == 1)
            #expect(try JSONDecoder().decode(JSONValue.self, from: Data(message.body.utf8)) == ["data": "x"])
            // Leased messages are invisible to others.
            #expect(try await messaging.queues.lease(Self.queue, max: 10, visibility: .seconds(30), wait: .zero).isEmpty)
            #expect(try await messaging.queues.ack(Self.queue, seq: message.seq, leaseID: message.leaseID))
            #expect(try await messaging.queues.depth(Self.queue) == 0)
        }
    }

    @Test("a lease whose claim answer was lost is given back whole, visible at once, attempts not counted", arguments: Backend.allCases)
    func releaseLease(backend: Backend) async throws {
        try await withMessaging(backend) { _, messaging in
            for id in ["m1", "m2", "m3"] {
                #expect(try await messaging.queues.enqueue(Self.queue, messageID: id, message: ["data": "x"], on: nil))
            }
            // The consumer chose the lease id; say the answer to this claim never reached it.
            let lost = try await messaging.store.claim(queue: Self.queue, max: 2, visibility: .seconds(300), maxAttempts: 10, leaseID: "lost-lease")
            #expect(lost.map(\.leaseID) == ["lost-lease", "lost-lease"])
            let other = try await messaging.store.claim(queue: Self.queue, max: 10, visibility: .seconds(300), maxAttempts: 10)
            #expect(other.map(\.messageID) == ["m3"])

            #expect(try await messaging.store.releaseLease(queue: Self.queue, leaseID: "lost-lease") == 2)
            #expect(try await messaging.store.releaseLease(queue: Self.queue, leaseID: "lost-lease") == 0, "a second release finds nothing")
            let again = try await messaging.store.claim(queue: Self.queue, max: 10, visibility: .seconds(300), maxAttempts: 10)
            #expect(again.map(\.messageID) == ["m1", "m2"], "the other lease is untouched")
            #expect(again.allSatisfy { $0.attempts == 1 })
        }
    }

    @Test("a message id is enqueued once per queue", arguments: Backend.allCases)
    func dedupe(backend: Backend) async throws {
        try await withMessaging(backend) { (_, messaging) async throws in
            #expect(try await messaging.queues.enqueue(Self.queue, messageID: "same", message: .null, on: nil))
            #expect(try await messaging.queues.enqueue(Self.queue, messageID: "same", message: .null, on: nil) == false)
            #expect(try await messaging.queues.enqueue("flow-f2:step_1:messages", messageID: "same", message: .null, on: nil))
            #expect(try await messaging.queues.depth(Self.queue) == 1)
        }
    }

    @Test("lease returns at most max messages, oldest first", arguments: Backend.allCases)
    func batching(backend: Backend) async throws {
        try await withMessaging(backend) { _, messaging in
            for number in 0..<5 {
                try await messaging.queues.enqueue(Self.queue, messageID: "m\(number)", message: .int(Int64(number)), on: nil)
            }
            let first = try await messaging.queues.lease(Self.queue, max: 3, visibility: .seconds(30), wait: .zero)
            #expect(first.map(\.messageID) == ["m0", "m1", "m2"])
            let rest = try await messaging.queues.lease(Self.queue, max: 3, visibility: .seconds(30), wait: .zero)
            #expect(rest.map(\.messageID) == ["m3", "m4"])
        }
    }

    @Test("ack and nack with a stale lease change nothing", arguments: Backend.allCases)
    func staleLease(backend: Backend) async throws {
        try await withMessaging(backend) { _, messaging in
            try await messaging.queues.enqueue(Self.queue, messageID: "m", message: .null, on: nil)
            let message = try #require(try await messaging.queues.lease(Self.queue, max: 1, visibility: .seconds(30), wait: .zero).first)
            #expect(try await messaging.queues.ack(Self.queue, seq: message.seq, leaseID: "not-the-lease") == false)
            #expect(
                try await messaging.queues.nack(Self.queue, seq: message.seq, leaseID: "not-the-lease", retryAfter: .zero, error: "x") == .staleLease)
            #expect(try await messaging.queues.depth(Self.queue) == 1)
        }
    }

    @Test("an expired lease makes the message visible again, with the next attempt", arguments: Backend.allCases)
    func leaseExpiry(backend: Backend) async throws {
        try await withMessaging(backend) { _, messaging in
            try await messaging.queues.enqueue(Self.queue, messageID: "m", message: .null, on: nil)
            let first = try #require(try await messaging.queues.lease(Self.queue, max: 1, visibility: .milliseconds(200), wait: .zero).first)
            // The consumer "crashed": no ack. After the visibility timeout the message comes back.
            let second = try #require(try await messaging.queues.lease(Self.queue, max: 1, visibility: .seconds(30), wait: .seconds(10)).first)
            #expect(second.seq == first.seq)
            #expect(second.attempts == 2)
            #expect(second.leaseID != first.leaseID)
            // The first lease is stale now.
            #expect(try await messaging.queues.ack(Self.queue, seq: first.seq, leaseID: first.leaseID) == false)
        }
    }

    @Test("nack requeues after the delay, and dead-letters after the last attempt", arguments: Backend.allCases)
    func nackAndDeadLetter(backend: Backend) async throws {
        let clock = TestClock()
        try await withMessaging(backend, clock: clock.wallClock) { _, messaging in
            try await messaging.queues.enqueue(Self.queue, messageID: "m", message: .null, on: nil)
            for attempt in 1...3 {
                let message = try #require(try await messaging.queues.lease(Self.queue, max: 1, visibility: .seconds(30), wait: .zero).first)
                #expect(message.attempts == attempt)
                let outcome = try await messaging.queues.nack(
                    Self.queue, seq: message.seq, leaseID: message.leaseID, retryAfter: .seconds(600), error: "failure \(attempt)"
                )
                #expect(outcome == (attempt < 3 ? .requeued : .deadLettered))
                if attempt < 3 {
                    // Not visible before the delay, and due in about ten minutes.
                    #expect(try await messaging.queues.lease(Self.queue, max: 1, visibility: .seconds(30), wait: .zero).isEmpty)
                    let due = try #require(try await messaging.store.timeUntilNextVisible(queue: Self.queue))
                    #expect(due > .seconds(500) && due <= .seconds(600))
                    // Ten minutes later, without waiting them.
                    clock.advance(by: 601)
                }
            }
            #expect(try await messaging.queues.depth(Self.queue) == 0)
            let letters = try await messaging.store.deadLetters(queue: Self.queue, offset: 0, limit: 10)
            #expect(letters.total == 1)
            #expect(letters.items.first?.lastError == "failure 3")
            #expect(letters.items.first?.attempts == 3)
        }
    }

    @Test("a message whose consumers keep crashing is dead-lettered instead of delivered forever", arguments: Backend.allCases)
    func crashLoopDeadLetters(backend: Backend) async throws {
        try await withMessaging(backend) { _, messaging in
            try await messaging.queues.enqueue(Self.queue, messageID: "poison", message: .null, on: nil)
            for _ in 1...3 {
                _ = try #require(try await messaging.queues.lease(Self.queue, max: 1, visibility: .milliseconds(50), wait: .seconds(10)).first)
            }
            try await Task.sleep(for: .milliseconds(100))
            #expect(try await messaging.queues.lease(Self.queue, max: 1, visibility: .seconds(1), wait: .zero).isEmpty)
            let letters = try await messaging.store.deadLetters(offset: 0, limit: 10)
            #expect(letters.items.first?.messageID == "poison")
            #expect(letters.items.first?.lastError.contains("lease expired") == true)
        }
    }

    @Test("dead letters can be listed, replayed and purged", arguments: Backend.allCases)
    func deadLetterOperations(backend: Backend) async throws {
        try await withMessaging(backend) { database, messaging in
            // A flow step queue exists while its flow runs: replaying into it needs it provisioned.
            try await database.transaction { try await messaging.store.provisionQueues([Self.queue], round: 1, on: $0) }
            for id in ["a", "b"] {
                try await messaging.queues.enqueue(Self.queue, messageID: id, message: .string(id), on: nil)
            }
            for message in try await messaging.queues.lease(Self.queue, max: 2, visibility: .seconds(30), wait: .zero) {
                _ = try await messaging.store.nack(
                    queue: Self.queue, seq: message.seq, leaseID: message.leaseID, delay: .zero, maxAttempts: 1, error: "no")
            }
            let listed = try await messaging.store.deadLetters(offset: 0, limit: 10)
            #expect(listed.total == 2)
            #expect(listed.items.map(\.messageID) == ["b", "a"], "newest first")
            let page = try await messaging.store.deadLetters(offset: 1, limit: 1)
            #expect(page.items.map(\.messageID) == ["a"])
            #expect(page.total == 2)

            let a = try #require(listed.items.last)
            #expect(try await messaging.store.replayDeadLetter(id: Int64(a.id)!))
            let replayed = try #require(try await messaging.queues.lease(Self.queue, max: 1, visibility: .seconds(30), wait: .zero).first)
            #expect(replayed.messageID == "a")
            #expect(replayed.attempts == 1, "a replay starts with fresh attempts")

            let b = try #require(listed.items.first)
            #expect(try await messaging.store.purgeDeadLetter(id: Int64(b.id)!))
            #expect(try await messaging.store.deadLetters(offset: 0, limit: 10).total == 0)
            #expect(try await messaging.store.purgeDeadLetter(id: 999_999) == false)
            #expect(try await messaging.store.replayDeadLetter(id: 999_999) == false)
        }
    }

    @Test("a waiting lease returns as soon as a message is enqueued, not at the poll interval", arguments: Backend.allCases)
    func longPollWakeUp(backend: Backend) async throws {
        // Poll interval and wait are long: only a wake-up can make the lease return with the message in time.
        try await withMessaging(backend, pollInterval: .seconds(120)) { _, messaging in
            async let leased = messaging.queues.lease(Self.queue, max: 1, visibility: .seconds(30), wait: .seconds(20))
            try await Task.sleep(for: .milliseconds(200))
            try await messaging.queues.enqueue(Self.queue, messageID: "wake", message: .null, on: nil)
            let started = ContinuousClock.now
            let messages = try await leased
            #expect(messages.map(\.messageID) == ["wake"])
            #expect(ContinuousClock.now - started < .seconds(20), "returned through the wake-up, before the wait ran out")
        }
    }

    @Test("a batch adds each message once, only into a queue provisioned for its run, and journals what it added", arguments: Backend.allCases)
    func provisionedBatch(backend: Backend) async throws {
        try await withMessaging(backend) { database, messaging in
            let (a, b) = ("flow-a:step_1:messages", "flow-b:step_1:messages")
            try await database.transaction { connection in
                try await messaging.store.provisionQueues([a], round: 1, on: connection)
                try await messaging.store.provisionQueues([b], round: 2, on: connection)
            }
            #expect(try await messaging.queues.enqueue(intoProvisioned: a, round: 1, messageID: "held", message: .null))
            let batch: [DatabaseWorkQueue.ProvisionedMessage] = [
                .init(queue: a, round: 1, messageID: "m1", body: "{\"n\":1}"),
                .init(queue: a, round: 1, messageID: "m1", body: "{\"n\":2}"),  // the same id again
                .init(queue: b, round: 1, messageID: "m2", body: "{}"),  // an earlier run of b
                .init(queue: "flow-c:step_1:messages", round: 1, messageID: "m3", body: "{}"),  // never provisioned
                .init(queue: b, round: 2, messageID: "m4", body: "{}"),
                .init(queue: a, round: 1, messageID: "held", body: "{}"),  // already queued
            ]
            let outcomes = try await database.transaction { try await messaging.queues.enqueue(intoProvisioned: batch, on: $0) }
            #expect(outcomes == [.added, .alreadyQueued, .notProvisioned, .notProvisioned, .added, .alreadyQueued])
            #expect(try await messaging.queues.depth(a) == 2)
            #expect(try await messaging.queues.depth(b) == 1)
            #expect(try await messaging.queues.depth("flow-c:step_1:messages") == 0)
            let leased = try await messaging.queues.lease(a, max: 10, visibility: .seconds(30), wait: .zero)
            #expect(leased.first { $0.messageID == "m1" }?.body == "{\"n\":1}", "the first of two with one id is the one kept")
            let leaseLines = try await messaging.store.journal(queue: a, after: nil, limit: 10).filter { $0.kind == .leased }
            #expect(leaseLines.map(\.messageID).sorted() == ["held", "m1"], "one line per message of a lease of two")
            #expect(
                try await messaging.store.journal(queue: a, after: nil, limit: 10).filter { $0.kind == .enqueued }.map(\.messageID) == ["held", "m1"])
            #expect(try await messaging.store.journal(queue: b, after: nil, limit: 10).map(\.messageID) == ["m4"])
        }
    }

    @Test("a batch larger than one statement adds every message, and wakes a lease waiting on one of its queues", arguments: Backend.allCases)
    func largeBatch(backend: Backend) async throws {
        try await withMessaging(backend, pollInterval: .seconds(120)) { database, messaging in
            let queues = (0..<1_203).map { "flow-f\($0):step_1:messages" }
            try await database.transaction { try await messaging.store.provisionQueues(queues, round: 0, on: $0) }
            // Waiting on one of many queues (the poll is longer than the wait): only the batch's wake-up delivers.
            let started = ContinuousClock.now
            async let leased = messaging.queues.lease(queues[700], max: 1, visibility: .seconds(30), wait: .seconds(60))
            try await Task.sleep(for: .milliseconds(200))
            let batch = queues.map { DatabaseWorkQueue.ProvisionedMessage(queue: $0, round: 0, messageID: "tick", body: "{}") }
            let outcomes = try await database.transaction { try await messaging.queues.enqueue(intoProvisioned: batch, on: $0) }
            #expect(outcomes.count == queues.count)
            #expect(outcomes.allSatisfy { $0 == .added })
            #expect(try await leased.map(\.messageID) == ["tick"])
            #expect(ContinuousClock.now - started < .seconds(10), "woken, not polled")
            let total = try await database.first("SELECT COUNT(*) AS n FROM bus_messages")?.int("n")
            #expect(total == Int64(queues.count))
            let journaled = try await database.first("SELECT COUNT(*) AS n FROM bus_queue_journal WHERE event = 'enqueued'")?.int("n")
            #expect(journaled == Int64(queues.count))
            // Again: every queue holds its message already.
            let again = try await database.transaction { try await messaging.queues.enqueue(intoProvisioned: batch, on: $0) }
            #expect(again.allSatisfy { $0 == .alreadyQueued })
        }
    }

    @Test("withdrawing removes only messages written ahead and never delivered, of the given ids", arguments: Backend.allCases)
    func withdrawUnseen(backend: Backend) async throws {
        try await withMessaging(backend) { database, messaging in
            let now = Timestamp.milliseconds(Date())
            let ahead = now + 60_000
            // scheduled:f:2 can be leased at once: not written ahead.
            for (id, visibleAt) in [("scheduled:f:1", ahead), ("scheduled:f:2", now - 1), ("scheduled:g:1", ahead), ("scheduled:f:3", ahead)] {
                try await database.transaction {
                    try await messaging.store.enqueue(
                        [MessageStore.Outgoing(queue: Self.queue, messageID: id, body: "{}", visibleAt: visibleAt)], on: $0)
                }
            }
            // scheduled:f:3 was delivered once and nacked to come back later: not unseen.
            try await database.execute("UPDATE bus_messages SET attempts = 1 WHERE message_id = 'scheduled:f:3'")
            let withdrawn = try await database.transaction {
                try await MessageStore.withdrawUnseen(queue: Self.queue, idPrefix: "scheduled:f:", at: Timestamp.milliseconds(Date()), on: $0)
            }
            #expect(withdrawn == 1)
            let left = try await database.query("SELECT message_id FROM bus_messages ORDER BY message_id").map { try $0.string("message_id") }
            #expect(left == ["scheduled:f:2", "scheduled:f:3", "scheduled:g:1"])
        }
    }

    @Test("stats report depth, leased count and the oldest message per queue", arguments: Backend.allCases)
    func stats(backend: Backend) async throws {
        try await withMessaging(backend) { _, messaging in
            try await messaging.queues.enqueue("q1", messageID: "1", message: .null, on: nil)
            try await messaging.queues.enqueue("q1", messageID: "2", message: .null, on: nil)
            try await messaging.queues.enqueue("q2", messageID: "1", message: .null, on: nil)
            _ = try await messaging.queues.lease("q1", max: 1, visibility: .seconds(30), wait: .zero)
            let stats = try await messaging.store.stats()
            #expect(stats.map(\.queue) == ["q1", "q2"])
            #expect(stats.map(\.depth) == [2, 1])
            #expect(stats.map(\.leased) == [1, 0])
            #expect(stats.allSatisfy { $0.oldestEnqueuedAt != nil })
        }
    }
}
