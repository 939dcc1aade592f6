/// A FIFO lock for async code: one holder at a time, waiters resumed in arrival order.
///
/// Used to give the single SQLite connection to one transaction at a time across suspension points.
actor AsyncLock {
    private var isLocked = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func lock() async {
        if !self.isLocked {
            self.isLocked = true
            return
        }
        await withCheckedContinuation { self.waiters.append($0) }
    }

    func unlock() {
        if self.waiters.isEmpty {
            self.isLocked = false
        } else {
            // Ownership passes straight to the next waiter; the lock stays held.
            self.waiters.removeFirst().resume()
        }
    }

    /// The lock the current task holds, if any: taking it again would wait for itself forever.
    @TaskLocal static var held: ObjectIdentifier?

    /// Runs `body` holding the lock.
    ///
    /// - Throws: ``StorageError/queryFailed(_:)`` when the calling task already holds this lock (a database
    ///   call nested inside a transaction), which would otherwise deadlock.
    nonisolated func withLock<Result: Sendable>(_ body: () async throws -> Result) async throws -> Result {
        guard Self.held != ObjectIdentifier(self) else {
            throw StorageError.queryFailed("nested use of the database inside a transaction: use the connection the transaction provides")
        }
        await self.lock()
        do {
            let result = try await Self.$held.withValue(ObjectIdentifier(self)) { try await body() }
            await self.unlock()
            return result
        } catch {
            await self.unlock()
            throw error
        }
    }
}
