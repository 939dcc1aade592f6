public import ServiceLifecycle
public import Storage

/// Tells every replica's ``FlowCache`` that a flow changed. ``FlowStore`` sends the flow's id on the
/// database's notification channel inside the changing transaction: PostgreSQL delivers it when (and only
/// if) that commits, to every process within milliseconds; SQLite's in-process hub delivers it at once,
/// which only drops an entry early (a rolled-back change leaves the flow to be read again).
public struct FlowChanges: Service {
    public static let channel = "portcullis_flows"

    let database: any Database
    let cache: FlowCache

    init(database: any Database, cache: FlowCache) {
        self.database = database
        self.cache = cache
    }

    /// Listens for change notices and drops the flows they name; `*` arrives after (re)connecting, when
    /// notices may have been missed, and empties the cache.
    public func run() async throws {
        let cache = self.cache
        try await cancelWhenGracefulShutdown {
            try await self.database.listen(channel: Self.channel) { notice in
                if notice == "*" { cache.invalidateAll() } else { cache.invalidate(notice) }
            }
        }
    }
}
