import NIOCore
import Synchronization

/// A FIFO lock for async code: one holder at a time, waiters resumed in arrival order.
///
/// Used to give the single SQLite connection to one transaction at a time across suspension points. Taking
/// a free lock and releasing one nobody waits for never suspends: the state is a `Mutex`, not an actor,
/// so every statement is not two hops onto a shared executor.
final class AsyncLock: Sendable {
    private struct State {
        var isLocked = false
        /// Waiters in arrival order (NIO's ring buffer: taken from the front in O(1)).
        var waiters = CircularBuffer<CheckedContinuation<Void, Never>>()
    }

    private let state = Mutex(State())

    /// How many callers wait for the lock (for tests).
    var waitingCount: Int {
        self.state.withLock { $0.waiters.count }
    }

    func lock() async {
        let acquired = self.state.withLock { state -> Bool in
            guard state.isLocked else {
                state.isLocked = true
                return true
            }
            return false
        }
        if acquired { return }
        await withCheckedContinuation { (waiter: CheckedContinuation<Void, Never>) in
            let acquired = self.state.withLock { state -> Bool in
                // Released meanwhile: take it now instead of waiting for a wake-up that will not come.
                guard state.isLocked else {
                    state.isLocked = true
                    return true
                }
                state.waiters.append(waiter)
                return false
            }
            if acquired { waiter.resume() }
        }
    }

    func unlock() {
        let next = self.state.withLock { state -> CheckedContinuation<Void, Never>? in
            if state.waiters.isEmpty {
                state.isLocked = false
                return nil
            }
            // Ownership passes straight to the next waiter; the lock stays held.
            return state.waiters.removeFirst()
        }
        next?.resume()
    }

    /// The lock the current task holds, if any: taking it again would wait for itself forever.
    @TaskLocal static var held: ObjectIdentifier?

    /// Runs `body` holding the lock.
    ///
    /// - Throws: ``StorageError/queryFailed(_:)`` when the calling task already holds this lock (a database
    ///   call nested inside a transaction), which would otherwise deadlock.
    func withLock<Result: Sendable>(_ body: () async throws -> Result) async throws -> Result {
        guard Self.held != ObjectIdentifier(self) else {
            throw StorageError.queryFailed("nested use of the database inside a transaction: use the connection the transaction provides")
        }
        await self.lock()
        defer { self.unlock() }
        return try await Self.$held.withValue(ObjectIdentifier(self)) { try await body() }
    }
}
