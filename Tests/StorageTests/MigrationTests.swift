import Foundation
import PortcullisCore
import Storage
import TestSupport
import Testing

@Suite("Migrations")
struct MigrationTests {
    static let first = Migration(id: "test.0001", ["CREATE TABLE first (id TEXT PRIMARY KEY)"])
    static let second = Migration(id: "test.0002", ["CREATE TABLE second (id TEXT PRIMARY KEY)", "INSERT INTO second (id) VALUES ('seed')"])
    static let broken = Migration(id: "test.0003", ["CREATE TABLE third (id TEXT PRIMARY KEY)", "THIS IS NOT SQL"])

    @Test("pending migrations are applied in order, once", arguments: Backend.allCases)
    func appliesOnce(backend: Backend) async throws {
        try await TestDatabases.withDatabase(backend) { database in
            let runner = MigrationRunner(database: database, migrations: [Self.first, Self.second], logger: TestDatabases.logger)
            #expect(try await runner.pending() == ["test.0001", "test.0002"])
            #expect(try await runner.migrate() == ["test.0001", "test.0002"])
            #expect(try await runner.migrate() == [])
            #expect(try await runner.pending() == [])
            let seeds = try await database.first("SELECT COUNT(*) AS n FROM second")
            #expect(try seeds?.int("n") == 1)
        }
    }

    @Test("a migration added later is the only one applied", arguments: Backend.allCases)
    func incremental(backend: Backend) async throws {
        try await TestDatabases.withDatabase(backend) { database in
            try await MigrationRunner(database: database, migrations: [Self.first], logger: TestDatabases.logger).migrate()
            let runner = MigrationRunner(database: database, migrations: [Self.first, Self.second], logger: TestDatabases.logger)
            #expect(try await runner.pending() == ["test.0002"])
            #expect(try await runner.migrate() == ["test.0002"])
        }
    }

    @Test("a failing migration names itself and leaves the schema as it was", arguments: Backend.allCases)
    func failureRollsBack(backend: Backend) async throws {
        try await TestDatabases.withDatabase(backend) { database in
            let runner = MigrationRunner(database: database, migrations: [Self.first, Self.broken], logger: TestDatabases.logger)
            await #expect {
                try await runner.migrate()
            } throws: { error in
                guard case StorageError.migrationFailed(let id, _) = error else { return false }
                return id == "test.0003"
            }
            // Not even the good migration of the failed batch was kept.
            let pending = try await runner.pending()
            #expect(pending == ["test.0001", "test.0003"])
            await #expect(throws: StorageError.self) { try await database.execute("SELECT * FROM first") }
        }
    }

    @Test("two processes migrating one database at once apply each migration exactly once", arguments: Backend.allCases)
    func concurrentRunners(backend: Backend) async throws {
        let location = try await TestDatabases.create(backend)
        defer { Task { try? await TestDatabases.drop(location) } }
        // Two separate Database instances stand for two replicas starting together.
        let replicas = [
            try await DatabaseFactory.open(location, maximumConnections: 2, leaseTimeout: .seconds(60), logger: TestDatabases.logger),
            try await DatabaseFactory.open(location, maximumConnections: 2, leaseTimeout: .seconds(60), logger: TestDatabases.logger),
        ]
        let applied = try await withThrowingTaskGroup(of: [String].self) { group in
            for replica in replicas {
                group.addTask {
                    try await replica.whileRunning {
                        try await MigrationRunner(database: replica, migrations: [Self.first, Self.second], logger: TestDatabases.logger)
                            .migrate()
                    }
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        #expect(applied.sorted() == ["test.0001", "test.0002"])
        try await TestDatabases.drop(location)
    }
}
