public import PortcullisCore

/// What a route demands of its caller.
public enum RouteAccess: Sendable, Hashable {
    /// Anyone, with or without a token.
    case `public`
    /// Any verified token.
    case authenticated
    /// A verified token holding every one of these permissions.
    case allOf([String])
    /// A verified token holding at least one of these permissions.
    case anyOf([String])
}
