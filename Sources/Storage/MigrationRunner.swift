import Foundation
public import Logging
import PortcullisCore

/// Applies ``Migration``s in the order given, each exactly once, and reports what is still pending.
///
/// All pending migrations run in one transaction, so a failure leaves the schema as it was. On PostgreSQL
/// a transaction-scoped advisory lock makes replicas that start at once take turns; the one that comes
/// second finds nothing left to do. On SQLite `BEGIN IMMEDIATE` does the same through the file lock.
public struct MigrationRunner: Sendable {
    public let database: any Database
    public let migrations: [Migration]
    private let logger: Logger

    public init(database: any Database, migrations: [Migration], logger: Logger) {
        precondition(Set(migrations.map(\.id)).count == migrations.count, "migration ids must be unique")
        self.database = database
        self.migrations = migrations
        self.logger = logger
    }

    /// Applies every pending migration. Returns the ids applied by this call.
    ///
    /// A run that finds the database busy (SQLite: another process held the file's write lock past the
    /// busy timeout) is tried again, up to five times: the other run is a migration too, and the next try
    /// finds its work done.
    static let busyBackoff = Backoff(initial: .milliseconds(200), maximum: .seconds(2))

    @discardableResult
    public func migrate() async throws -> [String] {
        var attempt = 1
        while true {
            do {
                return try await self.migrateOnce()
            } catch StorageError.serializationFailure(let reason) where attempt < 5 {
                self.logger.warning("migration found the database busy; trying again", metadata: ["attempt": "\(attempt)", "error": "\(reason)"])
                try await Task.sleep(for: Self.busyBackoff.delay(afterFailures: attempt))
                attempt += 1
            }
        }
    }

    private func migrateOnce() async throws -> [String] {
        let migrations = self.migrations
        let logger = self.logger
        return try await self.database.transaction { connection in
            try await connection.hold(.migrations)
            try await Self.createTable(connection)
            let applied = try await Self.appliedIDs(connection)
            var done: [String] = []
            for migration in migrations where !applied.contains(migration.id) {
                do {
                    for statement in migration.statements(connection.dialect) {
                        try await connection.execute(SQLQuery(unsafeSQL: statement))
                    }
                } catch {
                    throw StorageError.migrationFailed(id: migration.id, reason: "\(error)")
                }
                let now = Timestamp.milliseconds(.now)
                try await connection.execute("INSERT INTO portcullis_migrations (id, applied_at) VALUES (\(migration.id), \(now))")
                logger.info("applied migration", metadata: ["migration": "\(migration.id)"])
                done.append(migration.id)
            }
            return done
        }
    }

    /// The ids of migrations not yet applied, in order. Reading does not take the migration lock.
    public func pending() async throws -> [String] {
        let migrations = self.migrations
        return try await self.database.withConnection { connection in
            let exists: Bool
            switch connection.dialect {
            case .postgres:
                let row = try await connection.first("SELECT to_regclass('portcullis_migrations') IS NOT NULL AS present")
                exists = try row?.bool("present") ?? false
            case .sqlite:
                let row = try await connection.first(
                    "SELECT COUNT(*) AS present FROM sqlite_master WHERE type = 'table' AND name = 'portcullis_migrations'"
                )
                exists = try (row?.int("present") ?? 0) > 0
            }
            guard exists else { return migrations.map(\.id) }
            let applied = try await Self.appliedIDs(connection)
            return migrations.map(\.id).filter { !applied.contains($0) }
        }
    }

    private static func createTable(_ connection: any DatabaseConnection) async throws {
        try await connection.execute(
            "CREATE TABLE IF NOT EXISTS portcullis_migrations (id TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)"
        )
    }

    private static func appliedIDs(_ connection: any DatabaseConnection) async throws -> Set<String> {
        let rows = try await connection.query("SELECT id FROM portcullis_migrations")
        return Set(try rows.map { try $0.string("id") })
    }
}
