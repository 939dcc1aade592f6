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

    /// The tenant a listing is confined to; nil means all.
    public var listFilter: String?? {
        switch self {
        case .platform: .some(nil)
        case .tenant(let own): .some(own)
        case .none: nil
        }
    }
}
