import Synchronization

/// Runs `operation`, and returns on time even when `operation` ignores cancellation.
///
/// ``withTimeout(_:_:)`` races the operation in a task group, which cannot return before its child does: a
/// call that never returns (a query on a connection that died with its server) holds its caller forever.
/// Here the operation runs in a task of its own; when `limit` passes first the caller gets ``TimeoutError``
/// at once, the operation's task is cancelled (which is how a database call is told to give up: the pool
/// closes its connection) and left to finish on its own, counted in ``AbandonedWork`` until it does.
public func withDeadline<Result: Sendable>(
    _ limit: Duration,
    _ operation: @escaping @Sendable () async throws -> Result
) async throws -> Result {
    try await withDeadline(limit, abandonWhen: { _ in }, operation)
}

/// ``withDeadline(_:_:)`` that also gives up as soon as `abandonWhen`'s callback is called: the caller
/// gets the error passed to it at once, and the operation is abandoned as on a timeout. For an event that
/// makes waiting pointless, such as the connection a statement runs on closing.
///
/// ```swift
/// try await withDeadline(.seconds(30), abandonWhen: { giveUp in watch.onClose(giveUp) }) { try await statement() }
/// ```
public func withDeadline<Result: Sendable>(
    _ limit: Duration,
    abandonWhen: (@escaping @Sendable (any Error) -> Void) -> Void,
    _ operation: @escaping @Sendable () async throws -> Result
) async throws -> Result {
    let outcome = DeadlineOutcome<Result>()
    let work = Task { try await operation() }
    return try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Result, any Error>) in
            outcome.install(continuation)
            let timer = Task {
                try? await Task.sleep(for: limit)
                if !Task.isCancelled, outcome.giveUp(TimeoutError(limit: limit)) { work.cancel() }
            }
            Task {
                outcome.operationFinished(with: await work.result)
                // A finished operation needs no timer: do not leave one sleeping per call.
                timer.cancel()
            }
            abandonWhen { error in
                if outcome.giveUp(error) { work.cancel() }
            }
        }
    } onCancel: {
        if outcome.giveUp(CancellationError()) { work.cancel() }
    }
}

/// One caller, resumed exactly once by whichever comes first: the operation's result, the deadline, or
/// cancellation; and the count of abandoned operations kept right whichever order things happen in.
private final class DeadlineOutcome<Result: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<Result, any Error>?
        /// A result that arrived before the continuation was installed.
        var early: Swift.Result<Result, any Error>?
        var resumed = false
        var finished = false
        var abandoned = false
    }

    private let state = Mutex(State())

    func install(_ continuation: CheckedContinuation<Result, any Error>) {
        let early: Swift.Result<Result, any Error>? = self.state.withLock { state in
            guard let early = state.early else {
                state.continuation = continuation
                return nil
            }
            state.early = nil
            return early
        }
        if let early { continuation.resume(with: early) }
    }

    func operationFinished(with result: Swift.Result<Result, any Error>) {
        let (continuation, wasAbandoned) = self.state.withLock { state -> (CheckedContinuation<Result, any Error>?, Bool) in
            state.finished = true
            if state.abandoned { return (nil, true) }
            return (self.take(&state, result), false)
        }
        if wasAbandoned { AbandonedWork.shared.finished() }
        continuation?.resume(with: result)
    }

    /// Resumes the caller with `error` unless it was resumed already; true when the operation is still
    /// running and is now abandoned (the caller should cancel it).
    func giveUp(_ error: any Error) -> Bool {
        let (continuation, abandon) = self.state.withLock { state -> (CheckedContinuation<Result, any Error>?, Bool) in
            guard !state.resumed else { return (nil, false) }
            let continuation = self.take(&state, .failure(error))
            if !state.finished { state.abandoned = true }
            return (continuation, state.abandoned)
        }
        if abandon { AbandonedWork.shared.abandoned() }
        continuation?.resume(throwing: error)
        return abandon
    }

    /// Marks the caller resumed and hands out its continuation (or keeps `result` for ``install(_:)``).
    private func take(_ state: inout State, _ result: Swift.Result<Result, any Error>) -> CheckedContinuation<Result, any Error>? {
        guard !state.resumed else { return nil }
        state.resumed = true
        guard let continuation = state.continuation else {
            state.early = result
            return nil
        }
        state.continuation = nil
        return continuation
    }
}

/// How many operations a deadline gave up on are still running: each holds whatever it held (a
/// connection, a lease) until it ends. Readiness and the logs report it; it should return to zero.
public final class AbandonedWork: Sendable {
    public static let shared = AbandonedWork()
    private let count = Atomic<Int>(0)

    public var running: Int { self.count.load(ordering: .relaxed) }

    func abandoned() { self.count.add(1, ordering: .relaxed) }
    func finished() { self.count.subtract(1, ordering: .relaxed) }
}
