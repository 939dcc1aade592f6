import Logging
import PortcullisCore
public import ServiceLifecycle

/// A group's consumer as a service: registers the subscription when it starts (the database runs by then),
/// then consumes until shutdown. This is how modules join the bus in a `ServiceGroup`.
///
/// ```swift
/// let audit = Subscription(bus: messaging.bus, group: "audit", patterns: ["audit.#"]) { event, delivery in ... }
/// let services: [any Service] = [database, messaging.wakeUps, audit]
/// ```
public struct Subscription: Service {
    let bus: DatabaseEventBus
    let group: String
    let patterns: [String]
    let options: ConsumerOptions
    let handler: EventHandler
    let batchHandler: EventBatchHandler?
    let onReady: @Sendable () -> Void

    public init(
        bus: DatabaseEventBus,
        group: String,
        patterns: [String],
        options: ConsumerOptions = ConsumerOptions(),
        onReady: @escaping @Sendable () -> Void = {},
        batchHandler: EventBatchHandler? = nil,
        handler: @escaping EventHandler
    ) {
        self.batchHandler = batchHandler
        self.bus = bus
        self.group = group
        self.patterns = patterns
        self.options = options
        self.onReady = onReady
        self.handler = handler
    }

    public func run() async throws {
        var consumer: BusConsumer?
        var attempts = 0
        while consumer == nil {
            do {
                consumer = try await self.bus.subscribe(
                    group: self.group, patterns: self.patterns, options: self.options, batchHandler: self.batchHandler, handler: self.handler)
            } catch let error as MessagingError {
                // A bad group or pattern is a programming error that retrying cannot fix.
                throw error
            } catch {
                if Task.isShuttingDownGracefully || Task.isCancelled { return }
                // At start-up the tables may still be migrating: retry soon, then back off to the poll interval,
                // and only call it a problem when it persists.
                attempts += 1
                if attempts >= 6 {
                    self.bus.logger.warning("subscribing failed; retrying", metadata: ["bus.group": .string(self.group), "error": "\(error)"])
                }
                let delay = Backoff(initial: .milliseconds(50), maximum: self.options.pollInterval).delay(afterFailures: attempts)
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: delay) }
            }
        }
        self.onReady()
        try await consumer?.run()
    }
}
