/// One permission of the catalog (`policies/permissions.yaml`).
public struct Permission: Sendable, Hashable, Codable {
    public let name: String
    public let description: String
    /// Only a platform admin (`all`) may grant it.
    public let restricted: Bool
    /// Implied by `tenant.all`, for resources of the tenant admin's own tenant.
    public let tenantGrantable: Bool

    public init(name: String, description: String, restricted: Bool = false, tenantGrantable: Bool = false) {
        self.name = name
        self.description = description
        self.restricted = restricted
        self.tenantGrantable = tenantGrantable
    }
}

/// Every permission that exists. Roles, accounts, tokens and route rules may only name these.
public struct PermissionCatalog: Sendable {
    /// The platform-admin permission: grants everything everywhere.
    public static let all = "all"
    /// The tenant-admin permission: grants every tenant-grantable permission within one's tenant.
    public static let tenantAll = "tenant.all"

    public let permissions: [Permission]
    private let byName: [String: Permission]

    public init(_ permissions: [Permission]) {
        self.permissions = permissions
        self.byName = Dictionary(permissions.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
    }

    public func contains(_ name: String) -> Bool {
        self.byName[name] != nil
    }

    public subscript(name: String) -> Permission? {
        self.byName[name]
    }

    /// Whether holding `held` grants `permission`, before any tenant check: `all` grants everything,
    /// `tenant.all` grants the tenant-grantable permissions, anything else grants itself.
    public func grants(held: Set<String>, _ permission: String) -> Bool {
        if held.contains(Self.all) || held.contains(permission) {
            return true
        }
        return held.contains(Self.tenantAll) && (self.byName[permission]?.tenantGrantable ?? false)
    }
}
