public import ServiceLifecycle
public import Storage

/// Tells every replica's ``FlowCache`` that a flow changed. ``FlowStore`` sends the flow's id on the
/// database's notification channel inside the changing transaction, so it arrives when (and only if) that
/// commits: on PostgreSQL in every process within milliseconds.
public struct FlowChanges: Service {
    public static let channel = "portcullis_flows"

    let database: any Database
    let cache: FlowCache

    public init(database: any Database, cache: FlowCache) {
        self.database = database
        self.cache = cache
    }

    /// Listens for change notices and drops the flows they name; `*` arrives after (re)connecting, when
    /// notices may have been missed, and empties the cache.
    public func run() async throws {
        let cache = self.cache
        try await cancelWhenGracefulShutdown {
            try await self.database.listen(channel: Self.channel) { notice in
                cache.invalidate(notice)
            }
        }
    }
}
