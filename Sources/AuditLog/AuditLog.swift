public import Crypto
public import Logging
public import Messaging
import PortcullisCore
public import Storage

/// The audit-log module: the chain, the consumer that appends every `audit.*` event to it, and retention.
///
/// ```swift
/// let audit = AuditLog(database: database, key: masterKey.derived(for: "audit-chain"), bus: messaging.bus, logger: logger)
/// try await audit.bind()                 // before serving: from now on no audit event is missed
/// services.append(audit.consumer())      // appends what arrives
/// ```
public struct AuditLog: Sendable {
    /// The consumer group, and the pattern it is bound to (the seed: "listens to all events having audit.* as topic").
    public static let group = "audit"
    public static let patterns = ["audit.#"]
    /// The purpose the chain key is derived from the master key for.
    public static let keyPurpose = "audit-chain"

    public let chain: AuditChain
    let bus: DatabaseEventBus
    let logger: Logger

    public init(database: any Database, key: SymmetricKey, bus: DatabaseEventBus, logger: Logger) {
        self.chain = AuditChain(database: database, key: key)
        self.bus = bus
        self.logger = logger
    }

    /// Binds the audit group to `audit.#`, so that events published from now on wait for the consumer.
    public func bind() async throws {
        try await self.bus.bind(group: Self.group, patterns: Self.patterns)
    }

    /// The service that appends each `audit.*` event to the chain, once per event (redeliveries are
    /// recognised by the event id inside the append's transaction). Claimed batches are appended in one
    /// transaction; a batch that fails is retried event by event.
    public func consumer(options: ConsumerOptions = ConsumerOptions(batchSize: 25)) -> Subscription {
        let chain = self.chain
        return Subscription(
            bus: self.bus, group: Self.group, patterns: Self.patterns, options: options,
            batchHandler: { events in try await chain.append(contentsOf: events.map(AuditRecord.init(event:))) }
        ) { event, _ in
            try await chain.append(AuditRecord(event: event))
        }
    }
}
