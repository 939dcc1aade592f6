public import Logging
public import PortcullisCore

/// Opens the backend a ``DatabaseLocation`` names.
public enum DatabaseFactory {
    /// Opens the database. For PostgreSQL, one connection is made first so that a wrong URL, a refused
    /// connection or a failed login surfaces at once as ``StorageError/unavailable(_:)``.
    ///
    /// - Parameter leaseTimeout: how long a statement waits for a PostgreSQL connection before it fails as
    ///   unavailable (`PORTCULLIS_DATABASE_TIMEOUT`).
    public static func open(
        _ location: DatabaseLocation, maximumConnections: Int = 20, leaseTimeout: Duration = .seconds(5), logger: Logger
    ) async throws -> any Database {
        switch location {
        case .sqlite(let path):
            return try await SQLiteBackend.open(path: path, logger: logger)
        case .postgres(let endpoint):
            let backend = PostgresBackend(endpoint: endpoint, maximumConnections: maximumConnections, leaseTimeout: leaseTimeout, logger: logger)
            try await backend.probe()
            return backend
        }
    }
}
