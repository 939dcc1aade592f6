public import Logging
import NIOCore
import NIOPosix
import NIOSSL
public import PortcullisCore
import PostgresNIO
import ServiceLifecycle

/// The production backend: pooled, non-blocking PostgreSQL connections (PostgresNIO's `PostgresConnection`)
/// in a pool of our own whose every wait has a deadline (``PostgresConnectionPool``).
public final class PostgresBackend: Database {
    public let dialect = SQLDialect.postgres
    public let endpoint: PostgresEndpoint
    private let pool: PostgresConnectionPool
    private let connectionConfiguration: PostgresConnection.Configuration?
    private let configurationError: String?
    private let logger: Logger
    private let statementTimeout: Duration

    /// - Parameters:
    ///   - endpoint: Where to connect, parsed from `DATABASE_URL`.
    ///   - maximumConnections: Upper bound of the pool.
    ///   - leaseTimeout: How long a statement waits for a connection before it fails as unavailable.
    ///   - statementTimeout: How long one statement may run before it is abandoned and its connection closed.
    public init(
        endpoint: PostgresEndpoint, maximumConnections: Int = 20, leaseTimeout: Duration = .seconds(5), statementTimeout: Duration = .seconds(30),
        logger: Logger
    ) {
        self.endpoint = endpoint
        self.statementTimeout = statementTimeout
        self.logger = logger
        var configuration: PostgresConnection.Configuration?
        var problem: String?
        do {
            configuration = try Self.connectionConfiguration(endpoint)
        } catch {
            problem = "cannot set up TLS: \(error)"
        }
        self.connectionConfiguration = configuration
        self.configurationError = problem
        var options = PostgresConnectionPool.Options()
        options.maximumConnections = maximumConnections
        options.leaseTimeout = leaseTimeout
        options.connectTimeout = endpoint.connectTimeout
        // A configuration that cannot be built fails every lease (and the start-up probe says why).
        self.pool = PostgresConnectionPool(
            configuration: configuration ?? .init(unixSocketPath: "/nonexistent", username: "", password: nil, database: nil), options: options,
            logger: logger)
    }

    /// Opens one connection outside the pool and closes it again, so start-up can fail fast with the real
    /// reason (refused, unknown host, authentication, missing database).
    public func probe() async throws {
        guard let configuration = self.connectionConfiguration else {
            throw StorageError.unavailable(self.configurationError ?? "invalid configuration")
        }
        do {
            let connection = try await PostgresConnectionPool.connect(
                configuration, id: 0, timeout: max(.seconds(10), self.endpoint.connectTimeout), logger: self.logger)
            try await connection.close()
        } catch let error as StorageError {
            throw error
        } catch {
            throw StorageError.unavailable("cannot connect to \(self.endpoint.redactedDescription): \(Self.describe(error))")
        }
    }

    public func withConnection<Result: Sendable>(_ body: (any DatabaseConnection) async throws -> Result) async throws -> Result {
        try await self.pool.withConnection { connection in
            try await body(PostgresSession(pooled: connection, logger: self.logger, statementTimeout: self.statementTimeout))
        }
    }

    public func transaction<Result: Sendable>(_ body: (any DatabaseConnection) async throws -> Result) async throws -> Result {
        try await self.pool.withConnection { connection in
            let session = PostgresSession(pooled: connection, logger: self.logger, statementTimeout: self.statementTimeout)
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
    private static func rollback(_ connection: PooledConnection, session: PostgresSession, logger: Logger) async {
        do {
            try await session.execute("ROLLBACK")
        } catch {
            logger.warning("rollback failed; closing the connection", metadata: ["error": "\(describe(error))"])
            // Never lent again; closing is not awaited: on a connection whose server died it may not finish soon.
            connection.discard()
        }
    }

    public func ping() async throws {
        do {
            // Bounded by the pool's lease and statement deadlines; readiness adds its own.
            try await self.execute("SELECT 1")
        } catch let error as StorageError {
            throw error
        } catch {
            throw StorageError.unavailable("\(self.endpoint.redactedDescription) did not answer: \(Self.describe(error))")
        }
    }

    public func notify(channel: String, payload: String, on connection: any DatabaseConnection) async throws {
        try await connection.execute("SELECT pg_notify(\(channel), \(payload))")
    }

    /// One statement per 1,000 payloads.
    public func notify(channel: String, payloads: [String], on connection: any DatabaseConnection) async throws {
        for start in stride(from: 0, to: payloads.count, by: 1000) {
            var query: SQLQuery = "SELECT pg_notify(\(channel), payload) FROM (VALUES "
            for (index, payload) in payloads[start..<min(start + 1000, payloads.count)].enumerated() {
                query.append("\(unsafe: index == 0 ? "" : ", ")(\(payload))")
            }
            query.append(") AS sent (payload)")
            try await connection.execute(query)
        }
    }

    /// Holds a connection of its own (outside the pool) in LISTEN; when it fails (the server went away),
    /// waits a moment and listens again on a new one, telling `handler` `"*"` each time it is listening.
    public func listen(channel: String, _ handler: @escaping @Sendable (String) -> Void) async throws {
        guard let configuration = self.connectionConfiguration else {
            throw StorageError.unavailable(self.configurationError ?? "invalid configuration")
        }
        // One warning per outage, not one a second: later failures of the same outage are debug lines.
        var failing = false
        while !Task.isCancelled {
            do {
                let connection = try await PostgresConnectionPool.connect(configuration, id: -1, timeout: .seconds(5), logger: self.logger)
                if failing {
                    self.logger.notice("LISTEN connection back", metadata: ["channel": .string(channel)])
                    failing = false
                }
                do {
                    try await withTaskCancellationHandler {
                        try await connection.listen(on: channel) { notifications in
                            handler("*")
                            for try await notification in notifications {
                                handler(notification.payload)
                            }
                        }
                    } onCancel: {
                        PostgresConnectionPool.startClosing(connection)
                    }
                } catch {
                    // Not awaited: closing a connection whose server died may not finish soon.
                    PostgresConnectionPool.startClosing(connection)
                    throw error
                }
                PostgresConnectionPool.startClosing(connection)
            } catch is CancellationError {
                return
            } catch {
                if Task.isCancelled { return }
                let level: Logger.Level = failing ? .debug : .warning
                self.logger.log(
                    level: level, "LISTEN connection lost; listening again every second",
                    metadata: ["channel": .string(channel), "error": "\(Self.describe(error))"])
                failing = true
            }
            try? await Task.sleep(for: .seconds(1))
        }
    }

    /// Nothing to start: the pool opens connections when they are first leased. Runs until shutdown, then
    /// closes the pool.
    public func run() async throws {
        try? await gracefulShutdown()
        self.pool.close()
    }

    static func connectionConfiguration(_ endpoint: PostgresEndpoint) throws -> PostgresConnection.Configuration {
        var configuration: PostgresConnection.Configuration
        switch endpoint.address {
        case .tcp(let host, let port):
            let tls: PostgresConnection.Configuration.TLS =
                switch endpoint.tls {
                case .disable: .disable
                case .prefer: .prefer(try NIOSSLContext(configuration: .makeClientConfiguration()))
                case .require: .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
                }
            configuration = .init(
                host: host, port: port, username: endpoint.username, password: endpoint.password, database: endpoint.database, tls: tls)
        case .unixSocket(let path):
            configuration = .init(unixSocketPath: path, username: endpoint.username, password: endpoint.password, database: endpoint.database)
        }
        configuration.options.connectTimeout = .seconds(endpoint.connectTimeout.components.seconds)
        return configuration
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
