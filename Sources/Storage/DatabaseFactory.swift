public import Logging
public import PortcullisCore

/// Opens the backend a ``DatabaseLocation`` names.
public enum DatabaseFactory {
    /// Opens the database. For PostgreSQL, one connection is made first so that a wrong URL, a refused
    /// connection or a failed login surfaces at once as ``StorageError/unavailable(_:)``.
    ///
    /// - Parameters:
    ///   - leaseTimeout: how long a database call waits for a PostgreSQL connection before it fails as
    ///     unavailable (`PORTCULLIS_DATABASE_TIMEOUT`).
    ///   - statementTimeout: how long one PostgreSQL statement may run (`PORTCULLIS_STATEMENT_TIMEOUT`).
    public static func open(
        _ location: DatabaseLocation, maximumConnections: Int = 20, leaseTimeout: Duration = .seconds(5),
        statementTimeout: Duration = .seconds(30), logger: Logger
    ) async throws -> any Database {
        switch location {
        case .sqlite(let path):
            return try await SQLiteBackend.open(path: path, logger: logger)
        case .postgres(let endpoint):
            let backend = PostgresBackend(
                endpoint: endpoint, maximumConnections: maximumConnections, leaseTimeout: leaseTimeout, statementTimeout: statementTimeout,
                logger: logger)
            try await backend.probe()
            return backend
        }
    }
}
