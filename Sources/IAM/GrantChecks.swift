public import Policy
public import PortcullisCore

/// The grant rule and the ceiling of ``GrantRule`` applied to IAM's writes: accounts, service accounts,
/// roles and tokens all go through here, and every check is a recorded resource decision.
public struct GrantChecks: Sendable {
    let identity: Identity

    public init(identity: Identity) {
        self.identity = identity
    }

    /// What `account` effectively holds: its own permissions and its roles', as they are now.
    public func effectivePermissions(of account: Account) async throws -> Set<String> {
        Set(account.permissions).union(try await self.identity.roles.permissions(of: account.roles))
    }

    static func resource(_ account: Account) -> ResourceRef {
        ResourceRef(type: account.type == .service ? "service-account" : "account", id: account.id, tenant: account.tenant)
    }

    /// 403 unless `caller` holds every permission `account` effectively holds (platform admins are exempt),
    /// naming the first that exceeds the caller. Recorded either way.
    public func requireCeiling(_ caller: Principal, over account: Account, decisions: any ResourceDecisionRecorder) async throws {
        let decision = self.identity.policies.grants.decideCeiling(caller, over: try await self.effectivePermissions(of: account))
        guard try await self.identity.authorizer.check(decision, on: Self.resource(account), recordingTo: decisions) else {
            throw IAMError.forbidden(GrantRule.message(for: decision), reason: decision.reason)
        }
    }

    /// The grant rule over `permissions` and the permissions of the roles `roleIDs`, given to `resource`
    /// (an account or a role): unknown permissions and roles are 400; a role of another tenant than the
    /// resource's is 403 (`FOREIGN_ROLE`); then one grant decision over everything given, recorded.
    public func requireGrantable(
        _ caller: Principal, permissions: [String], roles roleIDs: [String] = [], to resource: ResourceRef,
        decisions: any ResourceDecisionRecorder
    ) async throws {
        let catalog = self.identity.policies.catalog
        var problems: [(String, String)] = []
        for permission in permissions where !catalog.contains(permission) {
            problems.append((GrantRule.Reason.unknown, "Unknown permission \(permission)."))
        }
        var roles: [Role] = []
        for id in roleIDs {
            if let role = try await self.identity.roles.find(id: id) {
                roles.append(role)
            } else {
                problems.append(("UNKNOWN_ROLE", "Unknown role \(id)."))
            }
        }
        guard problems.isEmpty else { throw IAMError.invalid(problems) }
        if let foreign = roles.first(where: { $0.tenant != nil && $0.tenant != resource.tenant }) {
            let decision = Decision(
                outcome: .deny, reason: "FOREIGN_ROLE", required: foreign.permissions, policyRevision: self.identity.policies.revision)
            try await self.identity.authorizer.check(decision, on: resource, recordingTo: decisions)
            throw IAMError.forbidden("Role \(foreign.id) belongs to another tenant.", reason: "FOREIGN_ROLE")
        }
        var given: [String] = []
        var seen = Set<String>()
        for permission in permissions + roles.flatMap(\.permissions) where seen.insert(permission).inserted {
            given.append(permission)
        }
        let decision = self.identity.policies.grants.decideGrant(caller, given)
        guard try await self.identity.authorizer.check(decision, on: resource, recordingTo: decisions) else {
            if decision.reason == GrantRule.Reason.unknown {
                // Only a role can bring an unknown permission: one the policy files no longer list.
                throw IAMError.invalid([(decision.reason, GrantRule.message(for: decision))])
            }
            throw IAMError.forbidden(GrantRule.message(for: decision), reason: decision.reason)
        }
    }
}
