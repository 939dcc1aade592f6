public import Logging
public import ServiceLifecycle

/// Background work on a timer, as a `Service`: runs `work` after `firstAfter`, then every `interval`;
/// a run that throws is logged and tried again after `retryAfter` (at most `interval`). Ends at graceful
/// shutdown or cancellation, never in the middle of waiting. Key rotation, audit retention and
/// housekeeping share this shape. (The scheduler's firing loop does not: it waits until the next due time
/// or a wake-up, not a fixed interval.)
///
/// ```swift
/// let prune = PeriodicJob(name: "housekeeping", every: .seconds(600), logger: logger) { try await store.prune() }
/// ```
public struct PeriodicJob: Service {
    public let name: String
    let interval: Duration
    let firstAfter: Duration
    let retryAfter: Duration
    let logger: Logger
    let work: @Sendable () async throws -> Void

    public init(
        name: String, every interval: Duration, firstAfter: Duration? = nil, retryAfter: Duration = .seconds(60), logger: Logger,
        _ work: @escaping @Sendable () async throws -> Void
    ) {
        self.name = name
        self.interval = interval
        self.firstAfter = firstAfter ?? interval
        self.retryAfter = min(retryAfter, interval)
        self.logger = logger
        self.work = work
    }

    private var stopping: Bool { Task.isShuttingDownGracefully || Task.isCancelled }

    public func run() async throws {
        var wait = self.firstAfter
        while !self.stopping {
            let delay = wait
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: delay) }
            if self.stopping { return }
            do {
                try await self.work()
                wait = self.interval
            } catch {
                self.logger.warning("\(self.name) failed; trying again", metadata: ["error": "\(error)", "retry.in": "\(self.retryAfter)"])
                wait = self.retryAfter
            }
        }
    }
}
