public import PortcullisCore

/// The one rule for handing out permissions, whichever way they travel: a direct grant to an account, a
/// permission put into a role, a role assigned to an account (``decideGrant``), a token narrowed by custom
/// permissions (``decideNarrowing``); and its twin, the
/// ceiling, for acting on an account (resetting its password, changing it, disabling or deleting it, rotating
/// its secret, minting its token), which hands out what that account holds.
///
/// A caller may grant a permission only when
/// 1. the permission exists (otherwise the request is malformed: 400),
/// 2. it is not `restricted`, or the caller is a platform admin (`all`),
/// 3. the caller effectively holds it itself (its token's scope included), and
/// 4. a tenant admin (`tenant.all`) grants only what the catalog marks `tenantGrantable`.
///
/// A caller may act on an account only when it holds every permission that account effectively holds;
/// platform admins are exempt.
public struct GrantRule: Sendable {
    public let authorizer: Authorizer

    public init(authorizer: Authorizer) {
        self.authorizer = authorizer
    }

    /// Reasons a grant or ceiling decision gives.
    public enum Reason {
        public static let grantable = "GRANTABLE"
        public static let unknown = "UNKNOWN_PERMISSION"
        public static let restricted = "RESTRICTED_PERMISSION"
        public static let notHeld = "NOT_HELD"
        public static let notTenantGrantable = "NOT_TENANT_GRANTABLE"
        public static let withinCeiling = "WITHIN_CEILING"
        public static let exceedsCaller = "EXCEEDS_CALLER"
        public static let withinAccount = "WITHIN_ACCOUNT"
        public static let exceedsAccount = "EXCEEDS_ACCOUNT"
    }

    /// Whether `caller` may give `permissions` away. A deny names the first permission at fault in
    /// `required`; an allow lists them all.
    public func decideGrant(_ caller: Principal, _ permissions: [String]) -> Decision {
        let catalog = self.authorizer.catalog
        let isPlatformAdmin = self.authorizer.holds(caller, PermissionCatalog.all)
        let isTenantAdmin = !isPlatformAdmin && caller.granted.contains(PermissionCatalog.tenantAll)
        for permission in permissions {
            guard let entry = catalog[permission] else { return self.deny(Reason.unknown, permission) }
            if entry.restricted && !isPlatformAdmin { return self.deny(Reason.restricted, permission) }
            if !self.authorizer.holds(caller, permission) { return self.deny(Reason.notHeld, permission) }
            if isTenantAdmin && !entry.tenantGrantable { return self.deny(Reason.notTenantGrantable, permission) }
        }
        return Decision(outcome: .allow, reason: Reason.grantable, required: permissions, policyRevision: self.authorizer.revision)
    }

    /// Whether `caller` may act on an account that effectively holds `held`. A deny names, in `required`, the
    /// first permission (in sorted order) that exceeds the caller.
    public func decideCeiling(_ caller: Principal, over held: Set<String>) -> Decision {
        let sorted = held.sorted()
        if !self.authorizer.holds(caller, PermissionCatalog.all), let exceeding = sorted.first(where: { !self.authorizer.holds(caller, $0) }) {
            return self.deny(Reason.exceedsCaller, exceeding)
        }
        return Decision(outcome: .allow, reason: Reason.withinCeiling, required: sorted, policyRevision: self.authorizer.revision)
    }

    /// Whether `caller` may narrow a token of an account that holds `held` to `permissions` (OIH's
    /// `customPermissions`): custom permissions only narrow, so each must be held by the account
    /// (`EXCEEDS_ACCOUNT`) and by the caller (`NOT_HELD`; after the ceiling this holds already, and is checked
    /// again so that the rule stands on its own).
    public func decideNarrowing(_ caller: Principal, _ permissions: [String], within held: Set<String>) -> Decision {
        let catalog = self.authorizer.catalog
        if let unknown = permissions.first(where: { !catalog.contains($0) }) { return self.deny(Reason.unknown, unknown) }
        if let exceeding = permissions.first(where: { !catalog.grants(held: held, $0) }) { return self.deny(Reason.exceedsAccount, exceeding) }
        if let exceeding = permissions.first(where: { !self.authorizer.holds(caller, $0) }) { return self.deny(Reason.notHeld, exceeding) }
        return Decision(outcome: .allow, reason: Reason.withinAccount, required: permissions, policyRevision: self.authorizer.revision)
    }

    /// A sentence for a refused grant, naming the permission at fault.
    public static func message(for decision: Decision) -> String {
        let permission = decision.required.first ?? "?"
        switch decision.reason {
        case Reason.unknown: return "Unknown permission \(permission)."
        case Reason.restricted: return "Only platform admins may grant \(permission)."
        case Reason.notHeld: return "You cannot grant \(permission), which you do not hold."
        case Reason.notTenantGrantable: return "Tenant admins cannot grant \(permission): it is not tenant-grantable."
        case Reason.exceedsCaller: return "The account holds \(permission), which you do not hold."
        case Reason.exceedsAccount: return "customPermissions cannot exceed the account's own permissions (\(permission))."
        default: return "Not allowed."
        }
    }

    private func deny(_ reason: String, _ permission: String) -> Decision {
        Decision(outcome: .deny, reason: reason, required: [permission], policyRevision: self.authorizer.revision)
    }
}
