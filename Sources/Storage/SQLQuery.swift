/// A query with its parameters kept apart from its text.
///
/// Interpolated values become bound parameters, never SQL text:
/// ```swift
/// let rows = try await connection.query("SELECT name FROM flows WHERE id = \(flowID)")
/// ```
/// Use ``SQLQuery/init(unsafeSQL:)`` or `\(unsafe: ...)` only for SQL the program itself wrote.
public struct SQLQuery: Sendable, ExpressibleByStringInterpolation, CustomStringConvertible {
    enum Fragment: Sendable {
        case sql(String)
        case bind(SQLValue)
    }

    var fragments: [Fragment]

    public init(unsafeSQL sql: String) {
        self.fragments = [.sql(sql)]
    }

    public init(stringLiteral value: String) {
        self.fragments = [.sql(value)]
    }

    public init(stringInterpolation: StringInterpolation) {
        self.fragments = stringInterpolation.fragments
    }

    public struct StringInterpolation: StringInterpolationProtocol {
        var fragments: [Fragment] = []

        public init(literalCapacity: Int, interpolationCount: Int) {
            self.fragments.reserveCapacity(2 * interpolationCount + 1)
        }

        public mutating func appendLiteral(_ literal: String) {
            self.fragments.append(.sql(literal))
        }

        /// Binds `value` as a parameter.
        public mutating func appendInterpolation(_ value: some SQLBindable) {
            self.fragments.append(.bind(value.sqlValue))
        }

        /// Binds `value`, or SQL NULL when it is nil.
        public mutating func appendInterpolation<Value: SQLBindable>(_ value: Value?) {
            self.fragments.append(.bind(value?.sqlValue ?? .null))
        }

        /// Inserts SQL text the program wrote itself (a table name, a fixed ORDER BY).
        public mutating func appendInterpolation(unsafe sql: String) {
            self.fragments.append(.sql(sql))
        }

        /// Binds each value, comma-separated, for `IN (...)` lists. An empty list renders `NULL`, which
        /// matches nothing.
        public mutating func appendInterpolation(list values: [some SQLBindable]) {
            guard !values.isEmpty else {
                self.fragments.append(.sql("NULL"))
                return
            }
            for (index, value) in values.enumerated() {
                if index > 0 { self.fragments.append(.sql(", ")) }
                self.fragments.append(.bind(value.sqlValue))
            }
        }

        /// Inserts a nested query, its parameters included.
        public mutating func appendInterpolation(_ query: SQLQuery) {
            self.fragments.append(contentsOf: query.fragments)
        }
    }

    /// Appends another piece, its parameters included.
    public mutating func append(_ other: SQLQuery) {
        self.fragments.append(contentsOf: other.fragments)
    }

    public static func + (lhs: SQLQuery, rhs: SQLQuery) -> SQLQuery {
        var result = lhs
        result.append(rhs)
        return result
    }

    /// The text for `dialect` (`$1, $2, ...` for PostgreSQL, `?1, ?2, ...` for SQLite) and the values in order.
    public func render(for dialect: SQLDialect) -> (sql: String, binds: [SQLValue]) {
        var sql = ""
        var binds: [SQLValue] = []
        for fragment in self.fragments {
            switch fragment {
            case .sql(let text):
                sql += text
            case .bind(let value):
                binds.append(value)
                switch dialect {
                case .postgres: sql += "$\(binds.count)"
                case .sqlite: sql += "?\(binds.count)"
                }
            }
        }
        return (sql, binds)
    }

    /// The SQL with placeholders; bound values are not shown, so this is safe to log.
    public var description: String { self.render(for: .postgres).sql }
}

/// The SQL dialect of a backend. Modules use it only for the few statements that differ (mostly DDL).
public enum SQLDialect: String, Sendable, CaseIterable {
    case sqlite
    case postgres

    /// Column type for an auto-incrementing 64-bit primary key.
    public var autoIncrementPrimaryKey: String {
        switch self {
        case .sqlite: "INTEGER PRIMARY KEY AUTOINCREMENT"
        case .postgres: "BIGSERIAL PRIMARY KEY"
        }
    }

    /// Column type for raw bytes.
    public var blobType: String {
        switch self {
        case .sqlite: "BLOB"
        case .postgres: "BYTEA"
        }
    }
}
