import Logging
import NIOCore
import PortcullisCore
import PostgresNIO

/// A pooled PostgreSQL connection lent by ``PostgresBackend``.
struct PostgresSession: DatabaseConnection {
    let pooled: PooledConnection
    let logger: Logger
    /// How long one statement may take, rows included. A statement on a connection whose server died can
    /// stay pending forever (seen after `pg_ctl stop -m immediate`): it is abandoned as soon as the
    /// connection closes (``PooledConnection``), or at the latest past this deadline, when its connection
    /// is closed (the pool drops it); either way the caller gets ``StorageError/unavailable(_:)`` on time.
    let statementTimeout: Duration
    var dialect: SQLDialect { .postgres }

    @discardableResult
    func query(_ query: SQLQuery) async throws -> [SQLRow] {
        let (sql, values) = query.render(for: .postgres)
        var bindings = PostgresBindings(capacity: values.count)
        for value in values {
            switch value {
            case .null: bindings.appendNull()
            case .int(let int): bindings.append(int)
            case .double(let double): bindings.append(double)
            case .text(let text): bindings.append(text)
            case .blob(let bytes): bindings.append(ByteBuffer(bytes: bytes))
            case .bool(let bool): bindings.append(bool)
            }
        }
        let pooled = self.pooled
        let connection = pooled.connection
        let logger = self.logger
        defer { pooled.statementEnded() }
        let query = PostgresQuery(unsafeSQL: sql, binds: bindings)
        do {
            return try await withDeadline(self.statementTimeout, abandonWhen: { pooled.statementStarted($0) }) {
                let sequence = try await connection.query(query, logger: logger)
                var rows: [SQLRow] = []
                for try await row in sequence {
                    var columns: [String] = []
                    var cells: [SQLValue] = []
                    for cell in row {
                        columns.append(cell.columnName)
                        cells.append(try Self.value(cell))
                    }
                    rows.append(SQLRow(columns: columns, values: cells))
                }
                return rows
            }
        } catch let error as PSQLError {
            throw Self.map(error)
        } catch let timeout as TimeoutError {
            pooled.discard()
            throw StorageError.unavailable("a statement did not finish within \(timeout.limit)")
        } catch let error as CancellationError {
            // The caller stopped waiting (its own deadline): the statement may still run on this connection.
            pooled.discard()
            throw error
        } catch let error as StorageError {
            // The connection closed under the statement.
            pooled.discard()
            throw error
        }
    }

    static func value(_ cell: PostgresCell) throws -> SQLValue {
        guard cell.bytes != nil else { return .null }
        switch cell.dataType {
        case .int2: return .int(Int64(try cell.decode(Int16.self)))
        case .int4: return .int(Int64(try cell.decode(Int32.self)))
        case .int8: return .int(try cell.decode(Int64.self))
        case .float4: return .double(Double(try cell.decode(Float.self)))
        case .float8: return .double(try cell.decode(Double.self))
        case .bool: return .bool(try cell.decode(Bool.self))
        case .bytea: return .blob(Array(try cell.decode(ByteBuffer.self).readableBytesView))
        default: return .text(try cell.decode(String.self))
        }
    }

    static func map(_ error: PSQLError) -> StorageError {
        guard let state = error.serverInfo?[.sqlState] else {
            return .unavailable(PostgresBackend.describe(error))
        }
        let message = error.serverInfo?[.message] ?? state
        switch state {
        case "23505": return .uniqueViolation(message)
        case _ where state.hasPrefix("23"): return .constraintViolation(message)
        case "40001", "40P01": return .serializationFailure(message)
        case _ where state.hasPrefix("08") || state.hasPrefix("57P") || state.hasPrefix("53"): return .unavailable(message)
        default: return .queryFailed(message)
        }
    }
}
