public import Logging
import NIOCore
import NIOPosix
import NIOSSL
public import PortcullisCore
import PostgresNIO
import ServiceLifecycle

/// The production backend: a pooled, non-blocking PostgreSQL client (PostgresNIO).
public final class PostgresBackend: Database {
    public let dialect = SQLDialect.postgres
    public let endpoint: PostgresEndpoint
    private let client: PostgresClient
    private let logger: Logger

    /// - Parameters:
    ///   - endpoint: Where to connect, parsed from `DATABASE_URL`.
    ///   - maximumConnections: Upper bound of the pool.
    public init(endpoint: PostgresEndpoint, maximumConnections: Int = 20, logger: Logger) {
        self.endpoint = endpoint
        self.logger = logger
        var configuration = Self.clientConfiguration(endpoint)
        configuration.options.maximumConnections = maximumConnections
        configuration.options.connectTimeout = .seconds(5)
        self.client = PostgresClient(configuration: configuration, backgroundLogger: logger)
    }

    /// Opens one connection outside the pool and closes it again, so start-up can fail fast with the real
    /// reason (refused, unknown host, authentication, missing database) instead of waiting on the pool.
    public func probe() async throws {
        let configuration: PostgresConnection.Configuration
        switch self.endpoint.address {
        case .tcp(let host, let port):
            let tls: PostgresConnection.Configuration.TLS
            do {
                switch self.endpoint.tls {
                case .disable: tls = .disable
                case .prefer: tls = .prefer(try NIOSSLContext(configuration: .makeClientConfiguration()))
                case .require: tls = .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
                }
            } catch {
                throw StorageError.unavailable("cannot set up TLS: \(error)")
            }
            configuration = .init(
                host: host, port: port, username: self.endpoint.username, password: self.endpoint.password,
                database: self.endpoint.database, tls: tls
            )
        case .unixSocket(let path):
            configuration = .init(
                unixSocketPath: path, username: self.endpoint.username, password: self.endpoint.password,
                database: self.endpoint.database
            )
        }
        do {
            let connection = try await withTimeout(.seconds(10)) {
                try await PostgresConnection.connect(
                    on: MultiThreadedEventLoopGroup.singleton.any(), configuration: configuration, id: 0, logger: self.logger
                ).get()
            }
            try await connection.close()
        } catch let error as StorageError {
            throw error
        } catch {
            throw StorageError.unavailable("cannot connect to \(self.endpoint.redactedDescription): \(Self.describe(error))")
        }
    }

    public func withConnection<Result: Sendable>(_ body: (any DatabaseConnection) async throws -> Result) async throws -> Result {
        try await self.client.withConnection { connection in
            try await body(PostgresSession(connection: connection, logger: self.logger))
        }
    }

    public func transaction<Result: Sendable>(_ body: (any DatabaseConnection) async throws -> Result) async throws -> Result {
        try await self.client.withConnection { connection in
            let session = PostgresSession(connection: connection, logger: self.logger)
            try await session.execute("BEGIN")
            let result: Result
            do {
                result = try await body(session)
            } catch {
                await Self.rollback(connection, session: session, logger: self.logger)
                throw error
            }
            do {
                try await session.execute("COMMIT")
            } catch {
                await Self.rollback(connection, session: session, logger: self.logger)
                throw error
            }
            return result
        }
    }

    /// Rolls back; a connection that cannot even roll back is closed so the pool never reuses it mid-transaction.
    private static func rollback(_ connection: PostgresConnection, session: PostgresSession, logger: Logger) async {
        do {
            try await session.execute("ROLLBACK")
        } catch {
            logger.warning("rollback failed; closing the connection", metadata: ["error": "\(describe(error))"])
            try? await connection.close()
        }
    }

    public func ping() async throws {
        do {
            // Generous enough for a cold pool that must open and authenticate a connection first.
            try await withTimeout(.seconds(5)) {
                try await self.execute("SELECT 1")
            }
        } catch let error as StorageError {
            throw error
        } catch {
            throw StorageError.unavailable("\(self.endpoint.redactedDescription) did not answer: \(Self.describe(error))")
        }
    }

    public func notify(channel: String, payload: String, on connection: any DatabaseConnection) async throws {
        try await connection.execute("SELECT pg_notify(\(channel), \(payload))")
    }

    /// Holds one pooled connection in LISTEN; when it fails, waits a moment and listens again.
    public func listen(channel: String, _ handler: @escaping @Sendable (String) -> Void) async throws {
        while !Task.isCancelled {
            do {
                try await self.client.withConnection { connection in
                    try await connection.listen(on: channel) { notifications in
                        handler("*")
                        for try await notification in notifications {
                            handler(notification.payload)
                        }
                    }
                }
            } catch is CancellationError {
                return
            } catch {
                if Task.isCancelled { return }
                self.logger.warning("LISTEN connection lost; listening again", metadata: ["error": "\(Self.describe(error))"])
            }
            try? await Task.sleep(for: .seconds(1))
        }
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await self.client.run()
        }
    }

    static func clientConfiguration(_ endpoint: PostgresEndpoint) -> PostgresClient.Configuration {
        switch endpoint.address {
        case .tcp(let host, let port):
            let tls: PostgresClient.Configuration.TLS =
                switch endpoint.tls {
                case .disable: .disable
                case .prefer: .prefer(.makeClientConfiguration())
                case .require: .require(.makeClientConfiguration())
                }
            return .init(
                host: host, port: port, username: endpoint.username, password: endpoint.password,
                database: endpoint.database, tls: tls
            )
        case .unixSocket(let path):
            return .init(
                unixSocketPath: path, username: endpoint.username, password: endpoint.password, database: endpoint.database
            )
        }
    }

    /// A sentence for an error from PostgresNIO. `PSQLError` hides its details from `description` on purpose;
    /// the server's message and the underlying network error are safe to show, the query's binds are not.
    static func describe(_ error: any Error) -> String {
        if let error = error as? PSQLError {
            if let message = error.serverInfo?[.message] {
                return message
            }
            if let underlying = error.underlying {
                return "\(underlying)"
            }
            return "\(error.code)"
        }
        return "\(error)"
    }
}
