public import Logging
public import PortcullisCore
public import Storage

/// The messaging module assembled over one database: the store, the bus, the work queues and the
/// wake-up listener that must run as a service next to them.
public struct Messaging: Sendable {
    public let store: MessageStore
    public let signals: QueueSignals
    public let bus: DatabaseEventBus
    public let queues: DatabaseWorkQueue
    public let wakeUps: WakeUpListener

    public init(
        database: any Database, retry: RetryPolicy = RetryPolicy(), pollInterval: Duration = .seconds(5), clock: WallClock = .system, logger: Logger
    ) {
        let store = MessageStore(database: database, clock: clock)
        let signals = QueueSignals()
        self.store = store
        self.signals = signals
        self.bus = DatabaseEventBus(store: store, signals: signals, logger: logger)
        self.queues = DatabaseWorkQueue(store: store, signals: signals, retry: retry, pollInterval: pollInterval)
        self.wakeUps = WakeUpListener(database: database, signals: signals)
    }
}
