public import ServiceLifecycle
public import Storage

/// Tells every replica's ``PrincipalCache`` that an account, token or role changed. Sent on the database's
/// notification channel inside the changing transaction, so it arrives when (and only if) that commits:
/// on PostgreSQL in every process within milliseconds, which is what makes a revocation effective
/// everywhere at once.
public struct IdentityChanges: Service {
    public static let channel = "portcullis_iam"

    let database: any Database
    let cache: PrincipalCache

    public init(database: any Database, cache: PrincipalCache) {
        self.database = database
        self.cache = cache
    }

    /// `account:<id>`, `token:<id>` or `*`.
    public static func announce(_ notice: String, database: any Database, on connection: any DatabaseConnection) async throws {
        try await database.notify(channel: Self.channel, payload: notice, on: connection)
    }

    /// Listens for change notices and purges the cache; `*` arrives after (re)connecting, when notices may
    /// have been missed.
    public func run() async throws {
        let cache = self.cache
        try await cancelWhenGracefulShutdown {
            try await self.database.listen(channel: Self.channel) { notice in
                cache.purge(notice)
            }
        }
    }
}
