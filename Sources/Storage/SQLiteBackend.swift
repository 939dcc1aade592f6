import Foundation
public import Logging
import NIOCore
import SQLiteNIO
import ServiceLifecycle

/// The embedded backend: one SQLite file in WAL mode.
///
/// SQLite has one writer at a time, so this backend owns one connection and hands it to one caller at a
/// time (``AsyncLock``); every libsqlite3 call runs on NIO's thread pool, never on an event loop. Other
/// processes that open the same file wait up to the busy timeout for its lock.
public final class SQLiteBackend: Database {
    public let dialect = SQLDialect.sqlite
    public let path: String
    private let connection: SQLiteConnection
    private let lock = AsyncLock()
    private let hub = NotificationHub()
    private let logger: Logger

    /// Milliseconds a statement waits for another process's write lock before failing.
    public static let busyTimeoutMilliseconds = 5000
    /// How often the write-ahead log is copied into the database file in the background.
    let checkpointInterval: Duration

    private init(path: String, connection: SQLiteConnection, checkpointInterval: Duration, logger: Logger) {
        self.path = path
        self.checkpointInterval = checkpointInterval
        self.connection = connection
        self.logger = logger
    }

    /// Opens (creating when absent) the database file at `path`, and its directory with mode 0700.
    public static func open(path: String, checkpointInterval: Duration = .seconds(1), logger: Logger) async throws -> SQLiteBackend {
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        do {
            try FileManager.default.createDirectory(
                atPath: directory,
                withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o700]
            )
        } catch {
            throw StorageError.unavailable("cannot create the data directory \(directory)")
        }
        let connection: SQLiteConnection
        do {
            connection = try await SQLiteConnection.open(storage: .file(path: path), logger: logger)
        } catch {
            throw StorageError.unavailable("cannot open the SQLite file \(path): \(Self.describe(error))")
        }
        let backend = SQLiteBackend(path: path, connection: connection, checkpointInterval: checkpointInterval, logger: logger)
        let session = SQLiteSession(connection: connection)
        do {
            for pragma in [
                "PRAGMA busy_timeout = \(busyTimeoutMilliseconds)",
                "PRAGMA journal_mode = WAL",
                "PRAGMA synchronous = NORMAL",
                "PRAGMA wal_autocheckpoint = \(WALCheckpointer.writerThreshold)",
                "PRAGMA journal_size_limit = \(WALCheckpointer.journalSizeLimit)",
                "PRAGMA foreign_keys = ON",
                // The one connection's page cache may grow to 64 MiB (SQLite's default is 2 MiB): with a
                // grown database, a transaction that writes rows all over an index (the scheduler's batch
                // for thousands of queues) otherwise spills pages to the log before it commits and reads
                // them back, which was most of its time.
                "PRAGMA cache_size = -\(Self.pageCacheKiB)",
                // Statement journals (a statement's undo within a transaction) stay in memory instead of
                // spilling to a temporary file.
                "PRAGMA temp_store = MEMORY",
            ] {
                try await session.query(SQLQuery(unsafeSQL: pragma))
            }
        } catch {
            try? await connection.close().get()
            throw error
        }
        return backend
    }

    /// The page cache's upper bound, in KiB (64 MiB).
    static let pageCacheKiB = 65_536

    public func withConnection<Result: Sendable>(_ body: (any DatabaseConnection) async throws -> Result) async throws -> Result {
        try await self.lock.withLock {
            try await body(SQLiteSession(connection: self.connection))
        }
    }

    public func transaction<Result: Sendable>(_ body: (any DatabaseConnection) async throws -> Result) async throws -> Result {
        try await self.lock.withLock {
            let session = SQLiteSession(connection: self.connection)
            // IMMEDIATE takes the write lock up front, so two writers never deadlock on a lock upgrade.
            try await session.execute("BEGIN IMMEDIATE")
            let result: Result
            do {
                result = try await body(session)
            } catch {
                do {
                    try await session.finish("ROLLBACK")
                } catch {
                    self.logger.error("rollback failed", metadata: ["error": "\(error)"])
                }
                throw error
            }
            do {
                try await session.finish("COMMIT")
            } catch {
                try? await session.finish("ROLLBACK")
                throw error
            }
            return result
        }
    }

    public func ping() async throws {
        try await self.execute("SELECT 1")
    }

    /// Delivered at once, in this process. A listener that reacts by querying waits for the SQLite lock,
    /// so it cannot see the database before a surrounding transaction has committed.
    public func notify(channel: String, payload: String, on connection: any DatabaseConnection) async throws {
        self.hub.notify(channel: channel, payload: payload)
    }

    public func listen(channel: String, _ handler: @escaping @Sendable (String) -> Void) async throws {
        await self.hub.listen(channel: channel, handler)
    }

    /// Checkpoints in the background (``WALCheckpointer``) until graceful shutdown (or cancellation), then
    /// closes the file once in-flight work is done.
    public func run() async throws {
        let checkpointer = WALCheckpointer(path: self.path, interval: self.checkpointInterval, logger: self.logger)
        try? await cancelWhenGracefulShutdown { await checkpointer.run() }
        try await self.lock.withLock {
            // The future-based close is not cancellation-aware: it closes even when run() was cancelled,
            // where the async variant would refuse and leave the file open.
            try await self.connection.close().get()
        }
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? SQLiteError {
            return error.message
        }
        return "\(error)"
    }
}

/// The single SQLite connection, lent to one caller at a time by ``SQLiteBackend``.
struct SQLiteSession: DatabaseConnection {
    let connection: SQLiteConnection
    var dialect: SQLDialect { .sqlite }

    @discardableResult
    func query(_ query: SQLQuery) async throws -> [SQLRow] {
        let (sql, values) = query.render(for: .sqlite)
        let binds = values.map(Self.bind)
        let rows: [SQLiteRow]
        do {
            rows = try await self.connection.query(sql, binds)
        } catch let error as SQLiteError {
            throw Self.map(error)
        }
        return rows.map { row in
            let columns = row.columns
            return SQLRow(columns: columns.map(\.name), values: columns.map { Self.value($0.data) })
        }
    }

    /// `COMMIT` or `ROLLBACK`, run even when the calling task is cancelled (a journal commit abandoned at its
    /// deadline): SQLiteNIO skips a cancelled task's statement, and a transaction left open on the one
    /// connection would take in every later statement, autocommit writes included, which would then be
    /// reported durable without being committed.
    func finish(_ sql: String) async throws {
        do {
            try await self.connection.query(sql, [], logger: Self.logger) { _ in }.get()
        } catch let error as SQLiteError {
            throw Self.map(error)
        }
    }

    private static let logger = Logger(label: "portcullis.sqlite")

    static func bind(_ value: SQLValue) -> SQLiteData {
        switch value {
        case .null: .null
        case .int(let int): .integer(SQLiteInt64(int))
        case .double(let double): .float(double)
        case .text(let text): .text(text)
        case .blob(let bytes): .blob(ByteBuffer(bytes: bytes))
        case .bool(let bool): .integer(bool ? 1 : 0)
        }
    }

    static func value(_ data: SQLiteData) -> SQLValue {
        switch data {
        case .null: .null
        case .integer(let int): .int(Int64(int))
        case .float(let double): .double(double)
        case .text(let text): .text(text)
        case .blob(let buffer): .blob(Array(buffer.readableBytesView))
        }
    }

    static func map(_ error: SQLiteError) -> StorageError {
        switch error.reason {
        case .constraintUniqueFailed, .constraintPrimaryKeyFailed, .constraintUniqueRowIDFailed:
            .uniqueViolation(error.message)
        case .constraint, .constraintCheckFailed, .constraintForeignKeyFailed, .constraintNotNullFailed,
            .constraintTriggerFailed, .constraintStrictDataTypeFailed:
            .constraintViolation(error.message)
        case .busy, .busyTimeout, .locked:
            .serializationFailure(error.message)
        case .cantOpen, .ioError, .corrupt, .notADatabase, .full, .readOnly:
            .unavailable(error.message)
        default:
            .queryFailed(error.message)
        }
    }
}
