import Synchronization
import Testing

@testable import Storage

/// The lock that lends SQLite's one connection: one holder at a time, waiters in arrival order.
@Suite("Async lock")
struct AsyncLockTests {
    /// What the holders saw: how many held the lock at once, at most, and in which order they got it.
    final class Trace: Sendable {
        private let state = Mutex<(inside: Int, most: Int, order: [Int])>((0, 0, []))

        func enter(_ index: Int) {
            self.state.withLock {
                $0.inside += 1
                $0.most = max($0.most, $0.inside)
                $0.order.append(index)
            }
        }

        func leave() {
            self.state.withLock { $0.inside -= 1 }
        }

        var most: Int { self.state.withLock { $0.most } }
        var order: [Int] { self.state.withLock { $0.order } }
    }

    @Test("one holder at a time across suspension points, whatever the contention")
    func exclusive() async throws {
        let lock = AsyncLock()
        let trace = Trace()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<200 {
                group.addTask {
                    try await lock.withLock {
                        trace.enter(index)
                        await Task.yield()
                        trace.leave()
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(trace.most == 1)
        #expect(trace.order.count == 200)
        // Free again: taken without waiting.
        #expect(try await lock.withLock { 7 } == 7)
    }

    @Test("waiters get the lock in the order they asked for it")
    func fifo() async throws {
        let lock = AsyncLock()
        let trace = Trace()
        await lock.lock()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<100 {
                group.addTask { try await lock.withLock { trace.enter(index) } }
                // Queued before the next one asks.
                while lock.waitingCount < index + 1 { await Task.yield() }
            }
            lock.unlock()
            try await group.waitForAll()
        }
        #expect(trace.order == Array(0..<100))
    }

    @Test("a call nested inside the holder's own lock is refused, not a deadlock")
    func nested() async throws {
        let lock = AsyncLock()
        await #expect(throws: StorageError.self) {
            try await lock.withLock { try await lock.withLock { () } }
        }
        #expect(try await lock.withLock { true })
    }
}
