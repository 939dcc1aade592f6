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
    /// The rule wants a token and there is none (401 `UNAUTHENTICATED`); the requirement is what the
    /// token would have to hold (nil when any token does).
    case unauthenticated(PermissionRequirement?)
    /// The caller lacks `missing` of what the rule requires (403 `MISSING_PERMISSION`).
    case missingPermission(PermissionRequirement, missing: [String])
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
        case .unauthenticated(let requirement): .unauthorized("UNAUTHENTICATED", PermissionRequirement.tokenNeeded(requirement))
        case .missingPermission(let requirement, let missing): .forbidden("MISSING_PERMISSION", requirement.refusal(missing: missing))
        case .noRoute(let method, let path):
            // The path is the caller's; a long one is shortened rather than echoed whole.
            .notFound("No route matches \(method) \(path.utf8Prefix(200, marking: "...")).", reason: "NO_ROUTE")
        }
    }

    /// What the client gets, explained: the rule that decided, what it requires and what the caller lacks,
    /// and where the decision record is. Only policy is shown (rule ids and permission names), never
    /// anything about other accounts; a path the canonicaliser refused names no rule.
    public func explained(rule: String?, decisionID: String, requestID: String) -> APIError {
        var error = self.apiError.recorded(decisionID: decisionID, requestID: requestID)
        if case .nonCanonicalPath = self { return error }
        error.entries[0].rule = rule
        switch self {
        case .unauthenticated(let requirement): error.entries[0].required = requirement
        case .missingPermission(let requirement, let missing):
            error.entries[0].required = requirement
            error.entries[0].missing = missing
        default: break
        }
        return error
    }

    /// The reason of the recorded deny: the code the client gets, except for credentials of another
    /// scheme (`NOT_BEARER`): the client gets `INVALID_TOKEN`, but the record says that the request came
    /// without a bearer token, so that a replay under other rules treats it as anonymous (`policy diff`).
    public var reason: String {
        if case .notABearerToken = self { return "NOT_BEARER" }
        return self.apiError.reason
    }

    init(_ denial: RouteDenial, rule: RouteRule?, method: String, path: String) {
        let requirement: PermissionRequirement? =
            switch rule?.access {
            case .allOf(let permissions): .allOf(permissions)
            case .anyOf(let permissions): .anyOf(permissions)
            case .public, .authenticated, nil: nil
            }
        switch denial {
        case .noRoute: self = .noRoute(method: method, path: path)
        case .unauthenticated: self = .unauthenticated(requirement)
        case .missingPermission(let missing): self = .missingPermission(requirement ?? .allOf(missing), missing: missing)
        }
    }
}
