import Logging
import PortcullisCore
public import ServiceLifecycle

/// One replica's consumer of a group's queue: claims batches, runs the handler, acks on success, retries
/// with backoff on failure, dead-letters after the last attempt. With a batch handler, a claimed batch is
/// first offered whole, and handled event by event only when that fails.
///
/// A `Service`: on graceful shutdown it finishes the message in hand, gives back the rest of its batch
/// without counting the delivery, and returns.
public final class BusConsumer: Service {
    public let group: String
    let queue: String
    let store: MessageStore
    let signals: QueueSignals
    let options: ConsumerOptions
    let handler: EventHandler
    let batchHandler: EventBatchHandler?
    let logger: Logger

    init(
        group: String, store: MessageStore, signals: QueueSignals, options: ConsumerOptions, batchHandler: EventBatchHandler? = nil,
        handler: @escaping EventHandler, logger: Logger
    ) {
        self.batchHandler = batchHandler
        self.group = group
        self.queue = DatabaseEventBus.queueName(group: group)
        self.store = store
        self.signals = signals
        self.options = options
        self.handler = handler
        var logger = logger
        logger[metadataKey: "bus.group"] = .string(group)
        self.logger = logger
    }

    public func run() async throws {
        await withDiscardingTaskGroup { group in
            for _ in 0..<self.options.concurrency {
                group.addTask { await self.loop() }
            }
        }
    }

    private var stopping: Bool { Task.isShuttingDownGracefully || Task.isCancelled }

    /// Leases this loop lost track of while the database was away, settled before it claims again.
    struct Unsettled {
        /// Messages handled whose ack failed: acked first, so they are not delivered again.
        var acks: [(seq: Int64, leaseID: String)] = []
        /// Leases whose outcome is unknown (the claim's answer never arrived) or whose nack failed, with when
        /// they were taken: every message still under them is given back, to be delivered again now rather
        /// than when the lease expires. Those older than the visibility have expired anyway and are dropped.
        var leases: [String: ContinuousClock.Instant] = [:]

        var isEmpty: Bool { self.acks.isEmpty && self.leases.isEmpty }
    }

    private func loop() async {
        var unsettled = Unsettled()
        var failures = 0
        while !self.stopping {
            let generation = self.signals.generation(of: self.queue)
            if !unsettled.isEmpty, !(await self.settle(&unsettled, failures: failures)) {
                failures += 1
                await self.pause(afterFailures: failures, since: generation)
                continue
            }
            let leaseID = RandomUUID.string()
            let batch: [QueuedMessage]
            do {
                batch = try await self.store.claim(
                    queue: self.queue, max: self.options.batchSize, visibility: self.options.visibility,
                    maxAttempts: self.options.retry.maxAttempts, leaseID: leaseID
                )
                failures = 0
            } catch {
                // The claim may have committed without its answer arriving: whatever it leased is given back.
                unsettled.leases[leaseID] = .now
                failures += 1
                if failures == 1 { self.logger.warning("claiming failed; retrying", metadata: ["error": "\(error)"]) }
                await self.pause(afterFailures: failures, since: generation)
                continue
            }
            if batch.isEmpty {
                await self.idle(since: generation)
                continue
            }
            if let batchHandler = self.batchHandler, batch.count > 1, !self.stopping,
                await self.deliverTogether(batch, batchHandler, unsettled: &unsettled)
            {
                continue
            }
            for (index, message) in batch.enumerated() {
                if self.stopping {
                    await self.release(Array(batch[index...]))
                    return
                }
                await self.deliver(message, unsettled: &unsettled)
            }
        }
    }

    /// Acks what was handled and gives back what was lost track of; false when the database still fails
    /// (logged on the first failure in a row).
    private func settle(_ unsettled: inout Unsettled, failures: Int) async -> Bool {
        let now = ContinuousClock.now
        unsettled.leases = unsettled.leases.filter { $0.value.duration(to: now) < self.options.visibility }
        do {
            if !unsettled.acks.isEmpty {
                _ = try await self.store.ack(queue: self.queue, messages: unsettled.acks)
                unsettled.acks = []
            }
            if !unsettled.leases.isEmpty {
                let released = try await self.store.releaseLeases(queue: self.queue, leaseIDs: Array(unsettled.leases.keys))
                unsettled.leases = [:]
                if released > 0 {
                    self.logger.notice("gave back messages leased before the database went away", metadata: ["count": "\(released)"])
                }
            }
            return true
        } catch {
            if failures == 0 {
                self.logger.warning("settling leases failed; retrying", metadata: ["error": "\(error)"])
            }
            return false
        }
    }

    /// After a failure: a short pause that grows to the poll interval, ended early by a wake-up or shutdown.
    private func pause(afterFailures failures: Int, since generation: UInt64) async {
        let delay = Backoff(initial: .milliseconds(100), maximum: self.options.pollInterval).delay(afterFailures: failures)
        await self.wait(since: generation, timeout: delay)
    }

    /// Waits for a wake-up of the queue, `timeout`, or shutdown, whichever comes first.
    private func wait(since generation: UInt64, timeout: Duration) async {
        await withGracefulShutdownHandler {
            await self.signals.wait(queue: self.queue, unlessChangedFrom: generation, timeout: timeout)
        } onGracefulShutdown: {
            self.signals.signal(self.queue)
        }
    }

    /// Waits for a wake-up, the next message to become visible (a retry's delay, an expiring lease), the
    /// poll interval, or shutdown, whichever comes first.
    private func idle(since generation: UInt64) async {
        let nextVisible = (try? await self.store.timeUntilNextVisible(queue: self.queue)) ?? nil
        await self.wait(since: generation, timeout: min(self.options.pollInterval, (nextVisible ?? self.options.pollInterval) + .milliseconds(5)))
    }

    private func deliver(_ message: QueuedMessage, unsettled: inout Unsettled) async {
        let event: Event
        do {
            event = try JSONCoding.decode(Event.self, from: message.body)
        } catch {
            // A body that is not an event can never succeed: dead-letter it on the first try.
            await self.fail(message, error: "undecodable event: \(error)", maxAttempts: message.attempts, unsettled: &unsettled)
            return
        }
        let delivery = Delivery(
            group: self.group, attempts: message.attempts, eventID: event.id, database: self.store.database, clock: self.store.clock)
        do {
            try await self.handler(event, delivery)
        } catch {
            self.logger.warning(
                "handler failed",
                metadata: ["event.id": .string(event.id), "event.name": .string(event.name), "attempts": "\(message.attempts)", "error": "\(error)"]
            )
            await self.fail(message, error: "\(error)", maxAttempts: self.options.retry.maxAttempts, unsettled: &unsettled)
            return
        }
        do {
            if try await !self.store.ack(queue: self.queue, seq: message.seq, leaseID: message.leaseID) {
                self.logger.warning("lease expired before ack; the event will be delivered again", metadata: ["event.id": .string(event.id)])
            }
        } catch {
            self.logger.warning("ack failed; acking again once the database answers", metadata: ["event.id": .string(event.id), "error": "\(error)"])
            unsettled.acks.append((message.seq, message.leaseID))
        }
    }

    /// Offers the whole batch to `batchHandler` and acks it; false (nothing acked) when any body is not an
    /// event or the handler throws, so that each message takes the one-by-one path with its own retries.
    private func deliverTogether(_ batch: [QueuedMessage], _ batchHandler: EventBatchHandler, unsettled: inout Unsettled) async -> Bool {
        guard let events = try? batch.map({ try JSONCoding.decode(Event.self, from: $0.body) }) else { return false }
        do {
            try await batchHandler(events)
        } catch {
            self.logger.notice("batch handler failed; handling the events one by one", metadata: ["count": "\(batch.count)", "error": "\(error)"])
            return false
        }
        do {
            let stale = try await self.store.ack(queue: self.queue, messages: batch.map { ($0.seq, $0.leaseID) })
            if stale > 0 {
                self.logger.warning("leases expired before ack; those events will be delivered again", metadata: ["count": "\(stale)"])
            }
        } catch {
            self.logger.warning("ack failed; acking again once the database answers", metadata: ["count": "\(batch.count)", "error": "\(error)"])
            unsettled.acks += batch.map { ($0.seq, $0.leaseID) }
        }
        return true
    }

    private func fail(_ message: QueuedMessage, error: String, maxAttempts: Int, unsettled: inout Unsettled) async {
        do {
            let outcome = try await self.store.nack(
                queue: self.queue, seq: message.seq, leaseID: message.leaseID,
                delay: self.options.retry.delay(afterAttempts: message.attempts), maxAttempts: maxAttempts, error: error
            )
            if outcome == .deadLettered {
                self.logger.error("event dead-lettered", metadata: ["message.id": .string(message.messageID), "attempts": "\(message.attempts)"])
            }
        } catch {
            self.logger.warning("nack failed; giving the message back once the database answers", metadata: ["error": "\(error)"])
            unsettled.leases[message.leaseID] = unsettled.leases[message.leaseID] ?? .now
        }
    }

    private func release(_ messages: [QueuedMessage]) async {
        for message in messages {
            do {
                try await self.store.release(queue: self.queue, seq: message.seq, leaseID: message.leaseID)
            } catch {
                self.logger.warning("release failed; the lease will expire instead", metadata: ["error": "\(error)"])
            }
        }
    }
}
