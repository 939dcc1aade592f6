/// One result row: column names and values, in the order the query selected them.
public struct SQLRow: Sendable, Equatable {
    public let columns: [String]
    public let values: [SQLValue]

    public init(columns: [String], values: [SQLValue]) {
        precondition(columns.count == values.count)
        self.columns = columns
        self.values = values
    }

    /// The value of `column`, or ``StorageError/missingColumn(_:)``.
    public func value(_ column: String) throws(StorageError) -> SQLValue {
        guard let index = self.columns.firstIndex(of: column) else {
            throw .missingColumn(column)
        }
        return self.values[index]
    }

    public func string(_ column: String) throws(StorageError) -> String {
        guard let value = try self.optionalString(column) else { throw .unexpectedNull(column) }
        return value
    }

    public func optionalString(_ column: String) throws(StorageError) -> String? {
        switch try self.value(column) {
        case .null: return nil
        case .text(let text): return text
        default: throw .typeMismatch(column: column, expected: "text")
        }
    }

    public func int(_ column: String) throws(StorageError) -> Int64 {
        guard let value = try self.optionalInt(column) else { throw .unexpectedNull(column) }
        return value
    }

    public func optionalInt(_ column: String) throws(StorageError) -> Int64? {
        switch try self.value(column) {
        case .null: return nil
        case .int(let int): return int
        default: throw .typeMismatch(column: column, expected: "integer")
        }
    }

    public func double(_ column: String) throws(StorageError) -> Double {
        switch try self.value(column) {
        case .double(let double): return double
        case .int(let int): return Double(int)
        case .null: throw .unexpectedNull(column)
        default: throw .typeMismatch(column: column, expected: "double")
        }
    }

    /// Booleans are stored as BOOLEAN on PostgreSQL and as 0/1 on SQLite; both read back as `Bool`.
    public func bool(_ column: String) throws(StorageError) -> Bool {
        switch try self.value(column) {
        case .bool(let bool): return bool
        case .int(let int) where int == 0 || int == 1: return int == 1
        case .null: throw .unexpectedNull(column)
        default: throw .typeMismatch(column: column, expected: "boolean")
        }
    }

    public func bytes(_ column: String) throws(StorageError) -> [UInt8] {
        guard let value = try self.optionalBytes(column) else { throw .unexpectedNull(column) }
        return value
    }

    public func optionalBytes(_ column: String) throws(StorageError) -> [UInt8]? {
        switch try self.value(column) {
        case .null: return nil
        case .blob(let bytes): return bytes
        default: throw .typeMismatch(column: column, expected: "bytes")
        }
    }
}
