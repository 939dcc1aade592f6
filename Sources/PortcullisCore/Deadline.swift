import Synchronization

/// The operation took longer than it was allowed to.
public struct TimeoutError: Error, Sendable, CustomStringConvertible {
    public let limit: Duration
    public var description: String { "timed out after \(self.limit)" }
}

/// Runs `operation`, and returns on time even when `operation` ignores cancellation.
///
/// Racing the operation in a task group is not enough: a group cannot return before its child does, so a
/// call that never returns (a query on a connection that died with its server) would hold its caller
/// forever. Here the operation runs in a task of its own; when `limit` passes first the caller gets
/// ``TimeoutError`` at once, the operation's task is cancelled (which is how a database call is told to
/// give up) and left to finish on its own, counted in ``AbandonedWork`` until it does.
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
    try await withDeadline(limit, abandonWhen: abandonWhen, countingIn: .shared, operation)
}

/// ``withDeadline(_:abandonWhen:_:)`` counting an abandoned operation in `abandonedWork` instead of the
/// process-wide ``AbandonedWork/shared`` that `/health/ready` reports: for tests, which share the process.
package func withDeadline<Result: Sendable>(
    _ limit: Duration,
    abandonWhen: (@escaping @Sendable (any Error) -> Void) -> Void,
    countingIn abandonedWork: AbandonedWork,
    _ operation: @escaping @Sendable () async throws -> Result
) async throws -> Result {
    try Task.checkCancellation()
    let outcome = DeadlineOutcome<Result>(abandonedWork: abandonedWork)
    return try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Result, any Error>) in
            outcome.install(continuation)
            let work = Task {
                do {
                    outcome.operationFinished(with: .success(try await operation()))
                } catch {
                    outcome.operationFinished(with: .failure(error))
                }
            }
            let timer = Task {
                try? await Task.sleep(for: limit)
                if !Task.isCancelled { outcome.giveUp(TimeoutError(limit: limit)) }
            }
            outcome.attach(work: work, timer: timer)
            abandonWhen { error in outcome.giveUp(error) }
        }
    } onCancel: {
        outcome.giveUp(CancellationError())
    }
}

/// One caller, resumed exactly once by whichever comes first: the operation's result, the deadline, a
/// give-up, or cancellation. It cancels the timer once the caller is resumed (no timer is left sleeping
/// per call) and the operation when it is abandoned, and keeps the count of abandoned operations right
/// whichever order things happen in.
private final class DeadlineOutcome<Result: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<Result, any Error>?
        /// A result or error that arrived before the continuation was installed.
        var early: Swift.Result<Result, any Error>?
        var resumed = false
        var finished = false
        var abandoned = false
        var work: Task<Void, Never>?
        var timer: Task<Void, Never>?
    }

    private let state = Mutex(State())
    private let abandonedWork: AbandonedWork

    init(abandonedWork: AbandonedWork) {
        self.abandonedWork = abandonedWork
    }

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

    /// Hands over the tasks to cancel; cancels them at once when things were decided already.
    func attach(work: Task<Void, Never>, timer: Task<Void, Never>) {
        let (cancelWork, cancelTimer) = self.state.withLock { state -> (Bool, Bool) in
            state.work = work
            state.timer = timer
            return (state.abandoned, state.resumed)
        }
        if cancelWork { work.cancel() }
        if cancelTimer { timer.cancel() }
    }

    func operationFinished(with result: Swift.Result<Result, any Error>) {
        let (continuation, wasAbandoned, timer) = self.state.withLock {
            state -> (CheckedContinuation<Result, any Error>?, Bool, Task<Void, Never>?) in
            state.finished = true
            if state.abandoned { return (nil, true, nil) }
            return (self.take(&state, result), false, state.timer)
        }
        if wasAbandoned { self.abandonedWork.finished() }
        timer?.cancel()
        continuation?.resume(with: result)
    }

    /// Resumes the caller with `error` unless it was resumed already; an operation still running is then
    /// abandoned: cancelled, and counted until it ends.
    func giveUp(_ error: any Error) {
        let (continuation, abandon, work, timer) = self.state.withLock {
            state -> (CheckedContinuation<Result, any Error>?, Bool, Task<Void, Never>?, Task<Void, Never>?) in
            guard !state.resumed else { return (nil, false, nil, nil) }
            let continuation = self.take(&state, .failure(error))
            if !state.finished { state.abandoned = true }
            return (continuation, state.abandoned, state.work, state.timer)
        }
        if abandon {
            self.abandonedWork.abandoned()
            work?.cancel()
        }
        timer?.cancel()
        continuation?.resume(throwing: error)
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
