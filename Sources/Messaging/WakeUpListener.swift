public import ServiceLifecycle
public import Storage

/// Turns database notifications into ``QueueSignals``: on PostgreSQL, a message enqueued by any process
/// wakes this process's waiting consumers and long-polls at once.
public struct WakeUpListener: Service {
    let database: any Database
    let signals: QueueSignals

    public init(database: any Database, signals: QueueSignals) {
        self.database = database
        self.signals = signals
    }

    public func run() async throws {
        let signals = self.signals
        try await cancelWhenGracefulShutdown {
            try await self.database.listen(channel: MessageStore.channel) { queue in
                signals.signal(queue)
            }
        }
    }
}
