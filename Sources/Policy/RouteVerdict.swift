/// A route-level decision and, when it is a deny, why: typed, so that nobody switches on reason text.
public struct RouteVerdict: Sendable, Hashable {
    public let decision: Decision
    /// Nil exactly when the decision is an allow.
    public let denial: RouteDenial?
}

/// Why a route refuses its caller.
public enum RouteDenial: Sendable, Hashable {
    /// No rule of `routes.yaml` matches the method and path (404 `NO_ROUTE`).
    case noRoute
    /// The rule wants a verified token and there is none (401 `UNAUTHENTICATED`).
    case unauthenticated
    /// The caller lacks these of the permissions the rule asks for (403 `MISSING_PERMISSION`).
    case missingPermission([String])
}
