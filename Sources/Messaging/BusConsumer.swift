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

    private func loop() async {
        while !self.stopping {
            let generation = self.signals.generation(of: self.queue)
            let batch: [QueuedMessage]
            do {
                batch = try await self.store.claim(
                    queue: self.queue, max: self.options.batchSize, visibility: self.options.visibility,
                    maxAttempts: self.options.retry.maxAttempts
                )
            } catch {
                self.logger.warning("claiming failed; retrying", metadata: ["error": "\(error)"])
                await self.idle(since: generation)
                continue
            }
            if batch.isEmpty {
                await self.idle(since: generation)
                continue
            }
            if let batchHandler = self.batchHandler, batch.count > 1, !self.stopping, await self.deliverTogether(batch, batchHandler) {
                continue
            }
            for (index, message) in batch.enumerated() {
                if self.stopping {
                    await self.release(Array(batch[index...]))
                    return
                }
                await self.deliver(message)
            }
        }
    }

    /// Waits for a wake-up, the next message to become visible (a retry's delay, an expiring lease), the
    /// poll interval, or shutdown, whichever comes first.
    private func idle(since generation: UInt64) async {
        let nextVisible = (try? await self.store.timeUntilNextVisible(queue: self.queue)) ?? nil
        let timeout = min(self.options.pollInterval, (nextVisible ?? self.options.pollInterval) + .milliseconds(5))
        await withGracefulShutdownHandler {
            await self.signals.wait(queue: self.queue, unlessChangedFrom: generation, timeout: timeout)
        } onGracefulShutdown: {
            self.signals.signal(self.queue)
        }
    }

    private func deliver(_ message: QueuedMessage) async {
        let event: Event
        do {
            event = try JSONCoding.decode(Event.self, from: message.body)
        } catch {
            // A body that is not an event can never succeed: dead-letter it on the first try.
            await self.fail(message, error: "undecodable event: \(error)", maxAttempts: message.attempts)
            return
        }
        let delivery = Delivery(group: self.group, attempts: message.attempts, eventID: event.id, database: self.store.database)
        do {
            try await self.handler(event, delivery)
        } catch {
            self.logger.warning(
                "handler failed",
                metadata: ["event.id": .string(event.id), "event.name": .string(event.name), "attempts": "\(message.attempts)", "error": "\(error)"]
            )
            await self.fail(message, error: "\(error)", maxAttempts: self.options.retry.maxAttempts)
            return
        }
        do {
            if try await !self.store.ack(queue: self.queue, seq: message.seq, leaseID: message.leaseID) {
                self.logger.warning("lease expired before ack; the event will be delivered again", metadata: ["event.id": .string(event.id)])
            }
        } catch {
            self.logger.warning("ack failed; the event will be delivered again", metadata: ["event.id": .string(event.id), "error": "\(error)"])
        }
    }

    /// Offers the whole batch to `batchHandler` and acks it; false (nothing acked) when any body is not an
    /// event or the handler throws, so that each message takes the one-by-one path with its own retries.
    private func deliverTogether(_ batch: [QueuedMessage], _ batchHandler: EventBatchHandler) async -> Bool {
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
            self.logger.warning("ack failed; the events will be delivered again", metadata: ["count": "\(batch.count)", "error": "\(error)"])
        }
        return true
    }

    private func fail(_ message: QueuedMessage, error: String, maxAttempts: Int) async {
        do {
            let outcome = try await self.store.nack(
                queue: self.queue, seq: message.seq, leaseID: message.leaseID,
                delay: self.options.retry.delay(afterAttempts: message.attempts), maxAttempts: maxAttempts, error: error
            )
            if outcome == .deadLettered {
                self.logger.error("event dead-lettered", metadata: ["message.id": .string(message.messageID), "attempts": "\(message.attempts)"])
            }
        } catch {
            self.logger.warning("nack failed; the lease will expire instead", metadata: ["error": "\(error)"])
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
