public import Logging
public import Messaging
public import PortcullisCore
public import ServiceLifecycle
import Synchronization

/// Writes decision records to the bus durably, with group commit: every record waiting when a commit
/// starts goes into that one transaction, so many concurrent requests cost one commit, not one each.
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

    private struct Pending: Sendable {
        let event: Event
        let continuation: CheckedContinuation<Void, any Error>
    }

    private struct State: Sendable {
        var pending: [Pending] = []
        var wake: AsyncStream<Void>.Continuation?
    }

    let bus: DatabaseEventBus
    let timeout: Duration
    let maxBatch: Int
    let logger: Logger
    private let state = Mutex(State())

    public init(bus: DatabaseEventBus, timeout: Duration = .seconds(5), maxBatch: Int = 500, logger: Logger) {
        self.bus = bus
        self.timeout = timeout
        self.maxBatch = maxBatch
        self.logger = logger
    }

    /// Whether the journal is running and accepting records.
    public var isAccepting: Bool {
        self.state.withLock { $0.wake != nil }
    }

    /// Commits `event` and returns once it is durable.
    ///
    /// - Throws: ``Unavailable`` when it is not.
    public func record(_ event: Event) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let wake = self.state.withLock { state -> AsyncStream<Void>.Continuation? in
                guard let wake = state.wake else { return nil }
                state.pending.append(Pending(event: event, continuation: continuation))
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
                let batch = Array(state.pending.prefix(self.maxBatch))
                state.pending.removeFirst(batch.count)
                return batch
            }
            if batch.isEmpty { return }
            let events = batch.map(\.event)
            do {
                try await withTimeout(self.timeout) { [bus] in
                    try await bus.publish(contentsOf: events)
                }
                for pending in batch { pending.continuation.resume() }
            } catch {
                self.logger.error(
                    "decision records could not be written; refusing the requests", metadata: ["count": "\(batch.count)", "error": "\(error)"])
                for pending in batch { pending.continuation.resume(throwing: Unavailable(description: "\(error)")) }
            }
        }
    }
}
