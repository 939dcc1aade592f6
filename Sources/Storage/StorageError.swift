public import Logging
public import PortcullisCore

/// What can go wrong talking to the database, in words safe to log (no passwords, no bound values).
public enum StorageError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The database cannot be reached or refused the connection (wrong host, auth, missing database).
    case unavailable(String)
    /// A unique or primary-key constraint rejected the write.
    case uniqueViolation(String)
    /// Another constraint (foreign key, check, not null) rejected the write.
    case constraintViolation(String)
    /// The database rejected the statement for another reason.
    case queryFailed(String)
    /// A concurrent transaction conflicted; the caller may retry.
    case serializationFailure(String)
    case missingColumn(String)
    case unexpectedNull(String)
    case typeMismatch(column: String, expected: String)
    /// A migration could not be applied; nothing of it was kept.
    case migrationFailed(id: String, reason: String)

    public var description: String {
        switch self {
        case .unavailable(let reason): "database unavailable: \(reason)"
        case .uniqueViolation(let reason): "unique constraint violated: \(reason)"
        case .constraintViolation(let reason): "constraint violated: \(reason)"
        case .queryFailed(let reason): "query failed: \(reason)"
        case .serializationFailure(let reason): "transaction conflict: \(reason)"
        case .missingColumn(let column): "result has no column \(column)"
        case .unexpectedNull(let column): "column \(column) is null"
        case .typeMismatch(let column, let expected): "column \(column) is not \(expected)"
        case .migrationFailed(let id, let reason): "migration \(id) failed: \(reason)"
        }
    }
}

extension StorageError: APIErrorConvertible {
    /// An outage is a 503 the client may retry; anything else is the gateway's fault: a 500 whose details
    /// go to the log only.
    public func apiError(logger: Logger) -> APIError {
        if case .unavailable(let reason) = self {
            logger.error("database unavailable", metadata: ["error": "\(reason)"])
            return .serviceUnavailable("DATABASE_UNAVAILABLE", "The database is unavailable; try again later.")
        }
        logger.error("unhandled error", metadata: ["error": "\(String(reflecting: self))"])
        return .internalError
    }
}
