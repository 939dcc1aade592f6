public import Policy
public import PortcullisCore

/// What a caller may reach in one resource family: everything (platform permission), only its own tenant
/// (tenant permission), or nothing.
public enum CallerScope: Sendable, Equatable {
    case platform
    case tenant(String)
    case none

    /// The scope `principal` has for an action granted platform-wide by `platform` (e.g. `iam.account.read`)
    /// or within its tenant by `tenant` (e.g. `tenant.account.read`).
    public static func of(_ principal: Principal, platform: String, tenant: String, authorizer: Authorizer) -> CallerScope {
        if authorizer.holds(principal, platform) { return .platform }
        if authorizer.holds(principal, tenant), let own = principal.tenant { return .tenant(own) }
        return .none
    }

    /// Whether a resource of `tenant` is visible in this scope. Invisible resources answer 404, exactly
    /// like missing ones, so that no caller learns what exists in another tenant.
    public func sees(_ tenant: String?) -> Bool {
        switch self {
        case .platform: true
        case .tenant(let own): tenant == own
        case .none: false
        }
    }

    /// What a listing in this scope covers; nil when the caller may list nothing.
    public var listing: Listing? {
        switch self {
        case .platform: .all
        case .tenant(let own): .tenant(own)
        case .none: nil
        }
    }

    /// The rows a listing covers: all of them, or one tenant's.
    public enum Listing: Sendable, Equatable {
        case all
        case tenant(String)

        /// The tenant to filter on; nil for all.
        public var tenant: String? {
            if case .tenant(let tenant) = self { return tenant }
            return nil
        }
    }
}
