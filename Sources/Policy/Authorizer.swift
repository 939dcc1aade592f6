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

/// The outcome of one authorization decision, with the reason a record of it needs.
public struct Decision: Sendable, Hashable {
    public enum Outcome: String, Sendable, Hashable {
        case allow, deny
    }

    public let outcome: Outcome
    /// `ALLOWED`, `PUBLIC`, `UNAUTHENTICATED`, `MISSING_PERMISSION`, ...
    public let reason: String
    /// The permissions the route asked for.
    public let required: [String]

    public var allowed: Bool { self.outcome == .allow }
}

/// Decides whether a principal may do something: used for every route and by modules for resource checks.
public struct Authorizer: Sendable {
    public let catalog: PermissionCatalog

    public init(catalog: PermissionCatalog) {
        self.catalog = catalog
    }

    /// Whether `principal` effectively holds `permission`: granted by its account and roles (`all` and
    /// `tenant.all` included) and, when the token is narrowed, by its scope too.
    public func holds(_ principal: Principal, _ permission: String) -> Bool {
        guard self.catalog.grants(held: principal.granted, permission) else { return false }
        guard let scope = principal.scope else { return true }
        return self.catalog.grants(held: scope, permission)
    }

    public func decide(_ principal: Principal?, _ access: RouteAccess) -> Decision {
        switch access {
        case .public:
            return Decision(outcome: .allow, reason: "PUBLIC", required: [])
        case .authenticated:
            guard principal != nil else { return Decision(outcome: .deny, reason: "UNAUTHENTICATED", required: []) }
            return Decision(outcome: .allow, reason: "ALLOWED", required: [])
        case .allOf(let permissions), .anyOf(let permissions):
            guard let principal else { return Decision(outcome: .deny, reason: "UNAUTHENTICATED", required: permissions) }
            let held = permissions.map { self.holds(principal, $0) }
            let satisfied: Bool
            if case .allOf = access {
                satisfied = held.allSatisfy { $0 }
            } else {
                satisfied = held.contains(true)
            }
            return Decision(outcome: satisfied ? .allow : .deny, reason: satisfied ? "ALLOWED" : "MISSING_PERMISSION", required: permissions)
        }
    }
}
