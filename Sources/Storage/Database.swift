public import ServiceLifecycle

/// A connection handed to a closure by ``Database``. Valid only inside that closure.
public protocol DatabaseConnection: Sendable {
    var dialect: SQLDialect { get }

    /// Runs `query` and returns every row it produced (none for statements without `RETURNING`).
    @discardableResult
    func query(_ query: SQLQuery) async throws -> [SQLRow]
}

extension DatabaseConnection {
    /// Runs a statement whose rows are not needed.
    public func execute(_ query: SQLQuery) async throws {
        try await self.query(query)
    }

    /// The first row of `query`, if any.
    public func first(_ query: SQLQuery) async throws -> SQLRow? {
        try await self.query(query).first
    }
}

/// The storage seam every module uses: SQLite (embedded default) or PostgreSQL (production).
///
/// A `Database` is a `Service`: run it in the application's `ServiceGroup` for as long as it is used.
/// Do not call `withConnection` or `transaction` on the database from inside a transaction body: use the
/// connection the body was given (on SQLite a nested call waits for the transaction and never returns).
public protocol Database: Service {
    var dialect: SQLDialect { get }

    /// Lends a connection for `body`; statements commit one by one.
    func withConnection<Result: Sendable>(_ body: (any DatabaseConnection) async throws -> Result) async throws -> Result

    /// Runs `body` in a transaction: committed when it returns, rolled back when it throws (its error rethrown).
    func transaction<Result: Sendable>(_ body: (any DatabaseConnection) async throws -> Result) async throws -> Result

    /// Checks that the database answers, failing with ``StorageError/unavailable(_:)`` when it does not.
    func ping() async throws

    /// Sends `payload` to every ``listen(channel:_:)`` on `channel`. Given a transaction's connection,
    /// PostgreSQL delivers it when the transaction commits (and not at all on rollback).
    func notify(channel: String, payload: String, on connection: any DatabaseConnection) async throws

    /// ``notify(channel:payload:on:)`` for each of `payloads`, in as few statements as the backend can.
    func notify(channel: String, payloads: [String], on connection: any DatabaseConnection) async throws

    /// Calls `handler` for each notification on `channel` until the task is cancelled. PostgreSQL delivers
    /// notifications from every process (LISTEN/NOTIFY), SQLite from this process only. After the
    /// subscription is (re-)established `handler` receives `"*"`: anything may have been missed, re-check all.
    func listen(channel: String, _ handler: @escaping @Sendable (String) -> Void) async throws
}

extension Database {
    /// One notification after the other.
    public func notify(channel: String, payloads: [String], on connection: any DatabaseConnection) async throws {
        for payload in payloads {
            try await self.notify(channel: channel, payload: payload, on: connection)
        }
    }

    /// Runs one statement on its own connection.
    @discardableResult
    public func query(_ query: SQLQuery) async throws -> [SQLRow] {
        try await self.withConnection { try await $0.query(query) }
    }

    public func execute(_ query: SQLQuery) async throws {
        try await self.withConnection { try await $0.execute(query) }
    }

    public func first(_ query: SQLQuery) async throws -> SQLRow? {
        try await self.withConnection { try await $0.first(query) }
    }
}

extension Database {
    /// Runs the database's service for the duration of `body` (for commands and tests that have no
    /// `ServiceGroup`), then stops it.
    public func whileRunning<Result: Sendable>(_ body: @Sendable () async throws -> Result) async throws -> Result {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.run() }
            defer { group.cancelAll() }
            return try await body()
        }
    }
}
