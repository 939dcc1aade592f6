public import GatewayKit
public import Logging
public import PortcullisCore
public import ServiceLifecycle
import Synchronization

/// Writes decision records into the audit chain durably, with group commit: every record waiting when a
/// commit starts goes into that one transaction (one lock of the chain, one multi-row insert), so many
/// concurrent requests cost one commit, not one each, and a record is in the verifiable chain before its
/// response leaves. Records come built (``PreparedRecord``): the journal only batches them.
///
/// ``record(_:)`` returns only once its record is committed, and throws ``Unavailable`` when it cannot be
/// (database down, commit slower than the timeout, journal not running): the caller must then refuse the
/// request, never serve it unrecorded.
///
/// A `Service`: run it next to the HTTP server. It stops accepting records at graceful shutdown, which
/// reaches it after the server has finished its in-flight requests.
public final class DecisionJournal: Service, Sendable {
    /// The record could not be made durable.
    public struct Unavailable: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    /// Records that commit together (a request's route and resource decisions), in order, with one waiter.
    private struct Pending: Sendable {
        let records: [PreparedRecord]
        let continuation: CheckedContinuation<Void, any Error>
    }

    private struct State: Sendable {
        var pending: [Pending] = []
        var wake: AsyncStream<Void>.Continuation?
        var statistics = Statistics()
        var committing = 0
    }

    /// Counters for operators and tests: how many records were committed in how many transactions.
    public struct Statistics: Sendable, Hashable {
        public var records = 0
        public var commits = 0
        public var failures = 0
    }

    let log: any DecisionLog
    let timeout: Duration
    let maxBatch: Int
    let logger: Logger
    private let state = Mutex(State())

    public init(log: any DecisionLog, timeout: Duration = .seconds(5), maxBatch: Int = 500, logger: Logger) {
        self.log = log
        self.timeout = timeout
        self.maxBatch = maxBatch
        self.logger = logger
    }

    public var statistics: Statistics {
        self.state.withLock { $0.statistics }
    }

    /// How many records wait for their commit to finish, queued or in a commit under way.
    public var waitingCount: Int {
        self.state.withLock { $0.pending.reduce(0) { $0 + $1.records.count } + $0.committing }
    }

    /// Whether the journal is running and accepting records.
    public var isAccepting: Bool {
        self.state.withLock { $0.wake != nil }
    }

    /// Commits `record` and returns once it is durable.
    ///
    /// - Throws: ``Unavailable`` when it is not.
    public func record(_ record: PreparedRecord) async throws {
        try await self.record([record])
    }

    /// Commits `records` in one transaction, in this order, and returns once they are durable.
    ///
    /// - Throws: ``Unavailable`` when they are not (none of them is then written).
    public func record(_ records: [PreparedRecord]) async throws {
        guard !records.isEmpty else { return }
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let wake = self.state.withLock { state -> AsyncStream<Void>.Continuation? in
                guard let wake = state.wake else { return nil }
                state.pending.append(Pending(records: records, continuation: continuation))
                return wake
            }
            if let wake {
                wake.yield()
            } else {
                continuation.resume(throwing: Unavailable(description: "the decision journal is not running"))
            }
        }
    }

    public func run() async throws {
        let (wakeUps, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        self.state.withLock { $0.wake = wake }
        await withGracefulShutdownHandler {
            for await _ in wakeUps {
                await self.commitPending()
            }
        } onGracefulShutdown: {
            self.state.withLock { $0.wake = nil }
            wake.finish()
        }
        self.state.withLock { $0.wake = nil }
        await self.commitPending()
    }

    /// Commits what is waiting, in batches, until nothing is.
    private func commitPending() async {
        while true {
            let batch = self.state.withLock { state -> [Pending] in
                // Whole entries up to `maxBatch` records (at least one entry): a request's records never split.
                var count = 0
                var taken = 0
                for pending in state.pending {
                    if taken > 0 && count + pending.records.count > self.maxBatch { break }
                    count += pending.records.count
                    taken += 1
                }
                let batch = Array(state.pending.prefix(taken))
                state.pending.removeFirst(taken)
                state.committing = count
                return batch
            }
            if batch.isEmpty { return }
            let records = batch.flatMap(\.records)
            let started = ContinuousClock.now
            do {
                // A deadline that returns on time even when the commit never does (a statement on a connection
                // that died with its server): the requests are refused with 503, and the journal goes on with
                // the next batch instead of holding every request behind the stuck one.
                try await withDeadline(self.timeout) { [log] in
                    try await log.append(decisions: records)
                }
                self.state.withLock {
                    $0.committing = 0
                    $0.statistics.commits += 1
                    $0.statistics.records += records.count
                }
                GatewayMetrics.decisionBatch(size: records.count, since: started, failed: false)
                for pending in batch { pending.continuation.resume() }
            } catch {
                GatewayMetrics.decisionBatch(size: records.count, since: started, failed: true)
                self.logger.error(
                    "decision records could not be written; refusing the requests", metadata: ["count": "\(records.count)", "error": "\(error)"])
                self.state.withLock {
                    $0.committing = 0
                    $0.statistics.failures += records.count
                }
                for pending in batch { pending.continuation.resume(throwing: Unavailable(description: "\(error)")) }
            }
        }
    }
}
