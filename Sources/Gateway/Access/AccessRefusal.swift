public import GatewayKit
import Policy
public import PortcullisCore

/// Why the access step refused a request: each case knows its status and the reason it is recorded under.
public enum AccessRefusal: Error, Sendable, Equatable {
    /// The path could be read two ways (400 `INVALID_PATH`, with the canonicaliser's message).
    case nonCanonicalPath(APIError)
    /// An `Authorization` header that is not `Bearer <token>`, on a route that is not public (401 `INVALID_TOKEN`).
    case notABearerToken
    /// A bearer token that does not verify: forged, expired, revoked (401 `INVALID_TOKEN`).
    case invalidToken
    /// A valid token of a disabled account or tenant (401 `ACCOUNT_DISABLED`).
    case accountDisabled
    /// Tokens cannot be checked now: key ring or database down (503, fail closed).
    case authenticationUnavailable
    /// The rule wants a token and there is none (401 `UNAUTHENTICATED`).
    case unauthenticated
    /// The caller lacks these permissions (403 `MISSING_PERMISSION`).
    case missingPermission([String])
    /// No rule matches (404 `NO_ROUTE`).
    case noRoute(method: String, path: String)

    /// What the client gets.
    public var apiError: APIError {
        switch self {
        case .nonCanonicalPath(let error): error
        case .notABearerToken: .unauthorized("INVALID_TOKEN", "The Authorization header must be 'Bearer <token>'.")
        case .invalidToken: .unauthorized("INVALID_TOKEN", "The token is invalid, expired or revoked.")
        case .accountDisabled: .unauthorized("ACCOUNT_DISABLED", "The account is disabled.")
        case .authenticationUnavailable: .serviceUnavailable("AUTHENTICATION_UNAVAILABLE", "Tokens cannot be checked right now; try again later.")
        case .unauthenticated: .unauthorized("UNAUTHENTICATED", "Authentication is required.")
        case .missingPermission(let missing): .forbidden("MISSING_PERMISSION", "Missing permission \(missing.joined(separator: ", "))")
        case .noRoute(let method, let path): .notFound("No route matches \(method) \(path).", reason: "NO_ROUTE")
        }
    }

    /// The reason of the recorded deny: the same code the client gets.
    public var reason: String { self.apiError.reason }

    init(_ denial: RouteDenial, method: String, path: String) {
        switch denial {
        case .noRoute: self = .noRoute(method: method, path: path)
        case .unauthenticated: self = .unauthenticated
        case .missingPermission(let missing): self = .missingPermission(missing)
        }
    }
}
