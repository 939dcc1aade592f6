/// The operation took longer than it was allowed to.
public struct TimeoutError: Error, Sendable, CustomStringConvertible {
    public let limit: Duration
    public var description: String { "timed out after \(self.limit)" }
}

/// Runs `operation`, cancelling it and throwing ``TimeoutError`` when it takes longer than `limit`.
public func withTimeout<Result: Sendable>(
    _ limit: Duration,
    _ operation: @escaping @Sendable () async throws -> Result
) async throws -> Result {
    try await withThrowingTaskGroup(of: Result.self) { group in
        group.addTask { try await operation() }
        group.addTask {
            try await Task.sleep(for: limit)
            throw TimeoutError(limit: limit)
        }
        defer { group.cancelAll() }
        guard let result = try await group.next() else {
            throw TimeoutError(limit: limit)
        }
        return result
    }
}
