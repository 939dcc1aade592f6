import Storage

/// A real database that a test watches through hooks: before every statement (requests and
/// the services beside them alike), and on every transaction aborted as a conflict (on PostgreSQL a
/// deadlock or a serialization failure; a bus handler's is retried, so its answer would not show it).
struct ObservedDatabase: Database {
    struct Hooks: Sendable {
        /// Before each statement runs.
        var beforeStatement: @Sendable (SQLQuery) async -> Void = { _ in }
        /// For each transaction aborted as a conflict, with the database's reason.
        var conflict: @Sendable (String) -> Void = { _ in }
    }

    let inner: any Database
    let hooks: Hooks
    var dialect: SQLDialect { self.inner.dialect }

    struct Connection: DatabaseConnection {
        let inner: any DatabaseConnection
        let hooks: Hooks
        var dialect: SQLDialect { self.inner.dialect }

        func query(_ query: SQLQuery) async throws -> [SQLRow] {
            await self.hooks.beforeStatement(query)
            return try await self.inner.query(query)
        }
    }

    func withConnection<Result: Sendable>(_ body: (any DatabaseConnection) async throws -> Result) async throws -> Result {
        try await self.inner.withConnection { try await body(Connection(inner: $0, hooks: self.hooks)) }
    }

    func transaction<Result: Sendable>(_ body: (any DatabaseConnection) async throws -> Result) async throws -> Result {
        do {
            return try await self.inner.transaction { try await body(Connection(inner: $0, hooks: self.hooks)) }
        } catch StorageError.serializationFailure(let reason) {
            self.hooks.conflict(reason)
            throw StorageError.serializationFailure(reason)
        }
    }

    func ping() async throws { try await self.inner.ping() }

    func notify(channel: String, payload: String, on connection: any DatabaseConnection) async throws {
        try await self.inner.notify(channel: channel, payload: payload, on: Self.unwrapped(connection))
    }

    func notify(channel: String, payloads: [String], on connection: any DatabaseConnection) async throws {
        try await self.inner.notify(channel: channel, payloads: payloads, on: Self.unwrapped(connection))
    }

    func listen(channel: String, _ handler: @escaping @Sendable (String) -> Void) async throws {
        try await self.inner.listen(channel: channel, handler)
    }

    /// The inner database is run by the environment.
    func run() async throws {}

    static func unwrapped(_ connection: any DatabaseConnection) -> any DatabaseConnection {
        (connection as? Connection)?.inner ?? connection
    }
}
