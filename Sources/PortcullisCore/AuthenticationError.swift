public import Logging

/// Why a credential was refused. Every case but ``unavailable`` is the caller's problem (401);
/// ``unavailable`` means a dependency is down and the request fails closed (503).
public enum AuthenticationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The token is malformed, forged, expired, revoked, of the wrong kind, or its account is gone.
    case invalidToken(String)
    /// The account is disabled (or its tenant is).
    case accountDisabled
    /// The key ring or the database cannot answer.
    case unavailable(String)

    public var description: String {
        switch self {
        case .invalidToken(let reason): "invalid token: \(reason)"
        case .accountDisabled: "account disabled"
        case .unavailable(let reason): "authentication unavailable: \(reason)"
        }
    }
}

extension AuthenticationError: APIErrorConvertible {
    public func apiError(logger: Logger) -> APIError {
        switch self {
        case .invalidToken, .accountDisabled:
            return .unauthorized("INVALID_TOKEN", "The token is invalid, expired or revoked.")
        case .unavailable(let reason):
            logger.error("authentication unavailable", metadata: ["error": "\(reason)"])
            return .serviceUnavailable("AUTHENTICATION_UNAVAILABLE", "Tokens cannot be checked right now; try again later.")
        }
    }
}
