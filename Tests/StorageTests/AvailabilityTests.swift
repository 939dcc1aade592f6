import Foundation
import PortcullisCore
import Storage
import TestSupport
import Testing

@Suite("Unavailable databases fail clearly")
struct AvailabilityTests {
    static func unavailableReason(_ location: DatabaseLocation) async -> String? {
        do {
            _ = try await DatabaseFactory.open(location, leaseTimeout: .seconds(60), logger: TestDatabases.logger)
            return nil
        } catch StorageError.unavailable(let reason) {
            return reason
        } catch {
            return "unexpected error: \(error)"
        }
    }

    @Test("a refused PostgreSQL connection is reported at once")
    func refused() async throws {
        // Port 1 on loopback has no listener.
        let endpoint = try PostgresEndpoint.parse("postgres://nobody:pw@127.0.0.1:1/none?sslmode=disable")
        let reason = try #require(await Self.unavailableReason(.postgres(endpoint)))
        #expect(reason.contains("cannot connect"))
        #expect(!reason.contains("pw@"))
    }

    @Test("a wrong PostgreSQL password is reported without the password")
    func wrongPassword() async throws {
        var endpoint = try PostgresEndpoint.parse(try TestDatabases.postgresTCPAdminURL())
        endpoint.password = "definitely-wrong-password"
        let reason = try #require(await Self.unavailableReason(.postgres(endpoint)))
        #expect(reason.contains("password authentication failed"))
        #expect(!reason.contains("definitely-wrong-password"))
    }

    @Test("a missing PostgreSQL database is reported by name")
    func missingDatabase() async throws {
        var endpoint = try PostgresEndpoint.parse(try TestDatabases.postgresAdminURL())
        endpoint.database = "no_such_database_here"
        let reason = try #require(await Self.unavailableReason(.postgres(endpoint)))
        #expect(reason.contains("no_such_database_here"))
    }

    @Test("the TCP URL with a password works")
    func tcpWithPassword() async throws {
        let endpoint = try PostgresEndpoint.parse(try TestDatabases.postgresTCPAdminURL())
        let database = try await DatabaseFactory.open(
            .postgres(endpoint), maximumConnections: 1, leaseTimeout: .seconds(60), logger: TestDatabases.logger)
        let row = try await database.whileRunning { try await database.first("SELECT 1 AS one") }
        #expect(try row?.int("one") == 1)
    }

    @Test("an SQLite file that cannot be created is reported with its path")
    func sqliteUnwritable() async throws {
        let reason = try #require(await Self.unavailableReason(.sqlite(path: "/proc/portcullis-cannot-exist/db.sqlite")))
        #expect(reason.contains("/proc/portcullis-cannot-exist"))
    }
}

@Suite("The PostgreSQL pool")
struct PostgresPoolTests {
    @Test("a lease that finds every connection busy fails as unavailable at its deadline instead of waiting forever")
    func leaseDeadline() async throws {
        let location = try await TestDatabases.create(.postgres)
        defer { Task { try? await TestDatabases.drop(location) } }
        let database = try await DatabaseFactory.open(location, maximumConnections: 1, leaseTimeout: .seconds(1), logger: TestDatabases.logger)
        try await database.whileRunning {
            // Connect first, with room for a loaded machine: the one-second deadline is for the wait below,
            // not for opening the connection.
            try await Self.warmUp(database)
            try await database.transaction { _ in
                // The only connection is held by this transaction: another statement cannot get one.
                await #expect(throws: StorageError.self) { try await database.execute("SELECT 1") }
            }
            // Given back, the connection serves the next statement.
            try await database.execute("SELECT 1")
        }
    }

    static func warmUp(_ database: any Database) async throws {
        var lastError: (any Error)?
        for _ in 0..<30 {
            do {
                try await database.execute("SELECT 1")
                return
            } catch {
                lastError = error
            }
        }
        throw try #require(lastError)
    }
}
