public import Logging
public import PortcullisCore

/// Errors of the identity module's services, each with its contract answer.
public enum IAMError: Error, Sendable {
    case invalid([(String, String)])
    /// 403 with a message and a stable reason (`EXCEEDS_CALLER`, `NOT_HELD`, `FOREIGN_ROLE`, ...).
    case forbidden(String, reason: String = "FORBIDDEN")
    case notFound(String)
    case conflict(String, String)
    /// 401 `SESSION_EXPIRED`: the session a token belongs to reached `PORTCULLIS_SESSION_MAX`; log in again.
    case sessionExpired
}

extension IAMError: APIErrorConvertible {
    public func apiError(logger: Logger) -> APIError {
        switch self {
        case .invalid(let problems): .validation(problems.map { (reason: $0.0, message: $0.1) })
        case .forbidden(let message, let reason): .forbidden(reason, message)
        case .notFound(let message): .notFound(message)
        case .conflict(let reason, let message): .conflict(reason, message)
        case .sessionExpired: .unauthorized("SESSION_EXPIRED", "The session has reached its maximum length; log in again.")
        }
    }
}

extension PasswordHashingPool.Busy: APIErrorConvertible {
    /// A login flood fills the hashing pool: anything else that sets a password waits its turn too.
    public func apiError(logger: Logger) -> APIError {
        APIError(status: 503, reason: "TOO_BUSY", message: "Too many password operations at once; try again shortly.", headers: ["Retry-After": "1"])
    }
}

extension KeyRingError: APIErrorConvertible {
    public func apiError(logger: Logger) -> APIError {
        logger.error("key ring unavailable", metadata: ["error": "\(self)"])
        return .serviceUnavailable("KEY_RING_UNAVAILABLE", "Tokens cannot be issued right now; try again later.")
    }
}
