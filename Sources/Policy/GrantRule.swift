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

    /// Reasons an allowed grant or ceiling decision gives; a refusal's reason is its ``GrantRefusal``'s.
    public enum Reason {
        public static let grantable = "GRANTABLE"
        public static let withinCeiling = "WITHIN_CEILING"
        public static let withinAccount = "WITHIN_ACCOUNT"
    }

    /// Whether `caller` may give `permissions` away. A deny names the first permission at fault in
    /// `required`; an allow lists them all.
    public func decideGrant(_ caller: Principal, _ permissions: [String]) -> GrantVerdict {
        let catalog = self.authorizer.catalog
        let isPlatformAdmin = self.authorizer.holds(caller, PermissionCatalog.all)
        let isTenantAdmin = !isPlatformAdmin && caller.granted.contains(PermissionCatalog.tenantAll)
        for permission in permissions {
            guard let entry = catalog[permission] else { return self.deny(.unknownPermission(permission)) }
            if entry.restricted && !isPlatformAdmin { return self.deny(.restricted(permission)) }
            if !self.authorizer.holds(caller, permission) { return self.deny(.notHeld(permission)) }
            if isTenantAdmin && !entry.tenantGrantable { return self.deny(.notTenantGrantable(permission)) }
        }
        return GrantVerdict(
            decision: Decision(outcome: .allow, reason: Reason.grantable, required: permissions, policyRevision: self.authorizer.revision))
    }

    /// Whether `caller` may act on an account that effectively holds `held`. A deny names, in `required`, the
    /// first permission (in sorted order) that exceeds the caller.
    public func decideCeiling(_ caller: Principal, over held: Set<String>) -> GrantVerdict {
        let sorted = held.sorted()
        if !self.authorizer.holds(caller, PermissionCatalog.all), let exceeding = sorted.first(where: { !self.authorizer.holds(caller, $0) }) {
            return self.deny(.exceedsCaller(exceeding))
        }
        return GrantVerdict(
            decision: Decision(outcome: .allow, reason: Reason.withinCeiling, required: sorted, policyRevision: self.authorizer.revision))
    }

    /// Whether `caller` may narrow a token of an account that holds `held` to `permissions` (OIH's
    /// `customPermissions`): custom permissions only narrow, so each must be held by the account
    /// (`EXCEEDS_ACCOUNT`) and by the caller (`NOT_HELD`; after the ceiling this holds already, and is checked
    /// again so that the rule stands on its own).
    public func decideNarrowing(_ caller: Principal, _ permissions: [String], within held: Set<String>) -> GrantVerdict {
        let catalog = self.authorizer.catalog
        if let unknown = permissions.first(where: { !catalog.contains($0) }) { return self.deny(.unknownPermission(unknown)) }
        if let exceeding = permissions.first(where: { !catalog.grants(held: held, $0) }) { return self.deny(.exceedsAccount(exceeding)) }
        if let exceeding = permissions.first(where: { !self.authorizer.holds(caller, $0) }) { return self.deny(.notHeld(exceeding)) }
        return GrantVerdict(
            decision: Decision(outcome: .allow, reason: Reason.withinAccount, required: permissions, policyRevision: self.authorizer.revision))
    }

    private func deny(_ refusal: GrantRefusal) -> GrantVerdict {
        GrantVerdict(
            decision: Decision(outcome: .deny, reason: refusal.reason, required: [refusal.permission], policyRevision: self.authorizer.revision),
            refusal: refusal)
    }
}
