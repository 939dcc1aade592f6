import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Storage
import Synchronization
import TestSupport
import Testing

@testable import FlowRepository

@Suite("Flow cache")
struct FlowCacheTests {
    /// A clock the test moves by hand.
    final class ManualClock: Sendable {
        private let instant = Mutex(ContinuousClock.now)

        var now: ContinuousClock.Instant { self.instant.withLock { $0 } }

        func advance(by duration: Duration) {
            self.instant.withLock { $0 += duration }
        }
    }

    static func flow(_ id: String, name: String = "a flow") -> Flow {
        FlowStoreTests.flow(id, name: name, owners: [FlowOwner(id: "alice", type: "user")], created: 0)
    }

    @Test("a flow read is kept and answered until its flow is invalidated; other flows stay")
    func keepsUntilInvalidated() {
        let cache = FlowCache()
        #expect(cache.get("f1") == nil)
        for id in ["f1", "f2"] {
            let kept = cache.put(Self.flow(id), size: 100, readSince: cache.generation)
            #expect(kept.answers != nil)
        }
        #expect(cache.get("f1")?.flow == Self.flow("f1"))
        cache.invalidate("f1")
        #expect(cache.get("f1") == nil)
        #expect(cache.get("f2")?.flow == Self.flow("f2"))
        cache.invalidateAll()
        #expect(cache.get("f2") == nil)
        #expect(cache.count == 0)
    }

    @Test("a read that began before an invalidation is not kept: the change wins")
    func readBeforeInvalidationIsRefused() {
        let cache = FlowCache()
        let before = cache.generation
        // The change commits (its notice arrives) while the read is still under way, and it names another
        // flow or this one: either way the old version must not be kept.
        cache.invalidate("f-other")
        let refused = cache.put(Self.flow("f1", name: "old"), size: 100, readSince: before)
        #expect(refused.flow.draft.name == "old", "the caller still gets what it read")
        #expect(refused.answers == nil)
        #expect(cache.get("f1") == nil)
        // A read that began after it is kept.
        _ = cache.put(Self.flow("f1", name: "new"), size: 100, readSince: cache.generation)
        #expect(cache.get("f1")?.flow.draft.name == "new")
    }

    @Test("an entry expires after the TTL, and a TTL of zero keeps nothing")
    func expires() {
        let clock = ManualClock()
        let cache = FlowCache(ttl: .seconds(30), now: { clock.now })
        _ = cache.put(Self.flow("f1"), size: 100, readSince: cache.generation)
        clock.advance(by: .seconds(29))
        #expect(cache.get("f1") != nil)
        clock.advance(by: .seconds(1))
        #expect(cache.get("f1") == nil)
        #expect(cache.count == 0, "the expired entry is dropped, not only skipped")

        let off = FlowCache(ttl: .zero)
        #expect(off.put(Self.flow("f1"), size: 100, readSince: off.generation).answers == nil)
        #expect(off.get("f1") == nil)
    }

    @Test("at most `capacity` entries and `byteBudget` bytes are kept; a flow too large for the budget is not kept")
    func bounded() {
        let byCount = FlowCache(capacity: 3)
        for index in 0..<10 {
            _ = byCount.put(Self.flow("f\(index)"), size: 100, readSince: byCount.generation)
            #expect(byCount.count <= 3)
        }
        #expect(byCount.get("f9") != nil, "the newest entry is kept")

        // Entries count three times their size (the flow and up to two encoded answers): 300 bytes each.
        let byBytes = FlowCache(byteBudget: 4_000)
        for index in 0..<20 {
            _ = byBytes.put(Self.flow("f\(index)"), size: 100, readSince: byBytes.generation)
            #expect(byBytes.count <= 4_000 / 300)
        }
        #expect(byBytes.count == 4_000 / 300)
        #expect(byBytes.get("f19") != nil)
        // Over a quarter of the budget: answered, not kept, and nothing else is pushed out for it.
        let large = byBytes.put(Self.flow("big"), size: 400, readSince: byBytes.generation)
        #expect(large.answers == nil)
        #expect(byBytes.get("big") == nil)
        #expect(byBytes.count == 4_000 / 300)
    }

    @Test("putting a flow again replaces its entry (and its size), and starts a new memo of answers")
    func replaces() {
        let cache = FlowCache(byteBudget: 4_000)
        let first = cache.put(Self.flow("f1", name: "one"), size: 100, readSince: cache.generation)
        let second = cache.put(Self.flow("f1", name: "two"), size: 100, readSince: cache.generation)
        #expect(cache.count == 1)
        #expect(cache.get("f1")?.flow.draft.name == "two")
        #expect(first.answers !== second.answers)
        #expect(cache.get("f1")?.answers === second.answers)
        // Still room for 13 entries of 300 bytes: the replaced entry's bytes were given back.
        for index in 2..<14 {
            _ = cache.put(Self.flow("f\(index)"), size: 100, readSince: cache.generation)
        }
        #expect(cache.count == 13)
        #expect(cache.get("f1") != nil)
    }

    @Test("each kind of answer is encoded once per cached version, and the two kinds are kept apart")
    func answerMemo() throws {
        let memo = FlowAnswerMemo()
        let encoded = Mutex(0)
        func body(_ showingToken: Bool) throws -> String {
            let buffer = try memo.body(showingToken: showingToken) {
                encoded.withLock { $0 += 1 }
                return ByteBuffer(string: showingToken ? "with token" : "without")
            }
            return String(buffer: buffer)
        }
        #expect(try body(false) == "without")
        #expect(try body(true) == "with token")
        #expect(try body(false) == "without")
        #expect(try body(true) == "with token")
        #expect(encoded.withLock { $0 } == 2)
        // A failed encoding is not remembered.
        struct Failure: Error {}
        let failing = FlowAnswerMemo()
        #expect(throws: Failure.self) { try failing.body(showingToken: false) { throw Failure() } }
        #expect(String(buffer: failing.body(showingToken: false) { ByteBuffer(string: "later") }) == "later")

        let response = FlowAnswerMemo.response(ByteBuffer(string: "{}"))
        #expect(response.status == .ok)
        #expect(response.headers[.contentType] == "application/json; charset=utf-8")
        #expect(response.headers[.contentLength] == "2")
    }

    @Test(
        "PostgreSQL: a read beside a changing transaction caches the version before it, and the end of the transaction drops it at once",
        arguments: [Backend.postgres])
    func droppedAfterTransaction(backend: Backend) async throws {
        try await FlowStoreTests.withStore(backend) { database, store in
            try await database.transaction { connection in try await store.insert(Self.flow("f1", name: "old"), on: connection) }
            try await store.transaction(changing: "f1") { connection in
                var changed = try #require(try await store.find(id: "f1", on: connection, locking: true))
                changed.draft.name = "new"
                changed.updatedAt += 1
                try await store.update(changed, on: connection)
                // Another request reads on another connection: PostgreSQL shows it the committed version.
                let beside = try await store.read(id: "f1")
                #expect(beside?.flow.draft.name == "old")
                #expect(store.cache.get("f1")?.flow.draft.name == "old", "the old version is cached meanwhile")
            }
            // No notice has to arrive (this test runs no listener): the transaction's end dropped it.
            #expect(store.cache.get("f1") == nil)
            #expect(try await store.read(id: "f1")?.flow.draft.name == "new")
        }
    }

    @Test("the size estimate charges a graph of many tiny values far more than its text")
    func sizeEstimate() throws {
        let columns = ["graph", "name", "description", "webhooks", "status_reason", "cron"]
        func row(graph: String) -> SQLRow {
            SQLRow(columns: columns, values: [.text(graph), .text("n"), .null, .null, .null, .null])
        }
        // 1,000 values in 2,001 bytes against one value in 2,003 bytes.
        let many = try FlowStore.approximateSize(row(graph: "[" + String(repeating: "0,", count: 999) + "0]"), owners: 0)
        let one = try FlowStore.approximateSize(row(graph: "[\"" + String(repeating: "x", count: 1999) + "\"]"), owners: 0)
        #expect(many >= 2_001 + 48 * 999)
        #expect(one < 3_000)
    }
}
