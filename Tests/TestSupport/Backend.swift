import Foundation
public import Logging
public import PortcullisCore
public import Storage

/// The storage backends every storage-facing test runs against.
public enum Backend: String, CaseIterable, Sendable, CustomStringConvertible {
    case sqlite
    case postgres

    public var description: String { self.rawValue }
}

/// Why a test could not get its database. PostgreSQL tests fail with this, never skip.
public struct TestEnvironmentError: Error, CustomStringConvertible {
    public let description: String

    public init(description: String) {
        self.description = description
    }
}

/// Fresh, isolated databases for tests: a new SQLite file, or a new database in the throwaway cluster
/// that `scripts/test` starts. Each is removed afterwards.
public enum TestDatabases {
    /// URL of the throwaway cluster's admin database, over its Unix socket.
    public static func postgresAdminURL() throws -> String {
        guard let url = ProcessInfo.processInfo.environment["PORTCULLIS_TEST_DATABASE_URL"], !url.isEmpty else {
            throw TestEnvironmentError(
                description: "PORTCULLIS_TEST_DATABASE_URL is not set: run the suite with scripts/test, which starts a throwaway PostgreSQL"
            )
        }
        return url
    }

    /// URL of the same cluster over TCP with password authentication.
    public static func postgresTCPAdminURL() throws -> String {
        guard let url = ProcessInfo.processInfo.environment["PORTCULLIS_TEST_DATABASE_TCP_URL"], !url.isEmpty else {
            throw TestEnvironmentError(description: "PORTCULLIS_TEST_DATABASE_TCP_URL is not set: run the suite with scripts/test")
        }
        return url
    }

    /// One master key per test run, shared by the replicas a test starts (base64 of 32 random bytes).
    public static let masterKey = Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()

    public static let logger: Logger = {
        var logger = Logger(label: "portcullis.tests")
        logger.logLevel = .warning
        return logger
    }()

    /// A new, empty database location for `backend`. Call ``drop(_:)`` when done.
    public static func create(_ backend: Backend) async throws -> DatabaseLocation {
        switch backend {
        case .sqlite:
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("portcullis-test-\(UUID().uuidString)")
            return .sqlite(path: directory.appendingPathComponent("test.sqlite").path)
        case .postgres:
            var endpoint = try PostgresEndpoint.parse(try postgresAdminURL())
            let name = "test_\(UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: ""))"
            try await self.admin { try await $0.execute(SQLQuery(unsafeSQL: "CREATE DATABASE \(name)")) }
            endpoint.database = name
            return .postgres(endpoint)
        }
    }

    /// The environment that points a `portcullis` process at `location` (nothing for SQLite files, whose
    /// path follows from the data directory). `overTCP` uses the password-authenticated TCP listener.
    public static func environment(for location: DatabaseLocation, overTCP: Bool = false) throws -> [String: String] {
        guard case .postgres(let endpoint) = location else { return [:] }
        let admin = overTCP ? try postgresTCPAdminURL() : try postgresAdminURL()
        return [
            "DATABASE_URL": admin.replacingOccurrences(of: "/postgres?", with: "/\(endpoint.database)?"),
            "PORTCULLIS_MASTER_KEY": Self.masterKey,
        ]
    }

    /// Removes a database made by ``create(_:)``.
    public static func drop(_ location: DatabaseLocation) async throws {
        switch location {
        case .sqlite(let path):
            try? FileManager.default.removeItem(atPath: URL(fileURLWithPath: path).deletingLastPathComponent().path)
        case .postgres(let endpoint):
            try await self.admin { try await $0.execute(SQLQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(endpoint.database) WITH (FORCE)")) }
        }
    }

    /// Opens a fresh database for `backend`, runs it for `body`, and removes it afterwards.
    public static func withDatabase<Result: Sendable>(
        _ backend: Backend,
        _ body: @Sendable (any Database) async throws -> Result
    ) async throws -> Result {
        let location = try await self.create(backend)
        do {
            // The suite runs many databases at once on one machine: waits are long here on purpose.
            let database = try await DatabaseFactory.open(location, maximumConnections: 8, leaseTimeout: .seconds(60), logger: self.logger)
            let result = try await database.whileRunning { try await body(database) }
            try await self.drop(location)
            return result
        } catch {
            try? await self.drop(location)
            throw error
        }
    }

    private static func admin(_ body: @Sendable (any Database) async throws -> Void) async throws {
        let endpoint = try PostgresEndpoint.parse(try postgresAdminURL())
        let database = PostgresBackend(endpoint: endpoint, maximumConnections: 1, leaseTimeout: .seconds(60), logger: self.logger)
        try await database.whileRunning { try await body(database) }
    }
}
