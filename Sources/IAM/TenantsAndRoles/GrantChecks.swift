public import Policy
public import PortcullisCore
public import Storage

/// The grant rule and the ceiling of ``GrantRule`` applied to IAM's writes: accounts, service accounts,
/// roles and tokens all go through here, and every check is a recorded resource decision.
public struct GrantChecks: Sendable {
    let accounts: AccountStore
    let roles: RoleStore
    let policies: PolicyStore

    public init(accounts: AccountStore, roles: RoleStore, policies: PolicyStore) {
        self.accounts = accounts
        self.roles = roles
        self.policies = policies
    }

    /// What `account` effectively holds: its own permissions and its roles', as they are now.
    public func effectivePermissions(of account: Account) async throws -> Set<String> {
        Set(account.permissions).union(try await self.roles.permissions(of: account.roles))
    }

    static func resource(_ account: Account) -> ResourceRef {
        ResourceRef(type: account.type == .service ? "service-account" : "account", id: account.id, tenant: account.tenant)
    }

    /// What a passed ceiling check saw of the account: the write that follows confirms, in its own
    /// transaction, that the account is still what was checked (``confirm(_:on:)``).
    public struct Ceiling: Sendable {
        let accountID: String
        let updatedAt: Int64
        let held: Set<String>
    }

    /// 403 unless `caller` holds every permission `account` effectively holds (platform admins are exempt),
    /// naming the first that exceeds the caller. Recorded either way.
    @discardableResult
    public func requireCeiling(_ caller: Principal, over account: Account, decisions: any ResourceDecisionRecorder) async throws -> Ceiling {
        let policies = self.policies.current
        let held = try await self.effectivePermissions(of: account)
        let verdict = policies.grants.decideCeiling(caller, over: held)
        guard try await policies.authorizer.check(verdict.decision, about: caller, on: Self.resource(account), recordingTo: decisions) else {
            throw Self.error(for: verdict)
        }
        return Ceiling(accountID: account.id, updatedAt: Timestamp.milliseconds(account.updatedAt), held: held)
    }

    /// Inside the write's transaction: the account is unchanged since its ceiling was checked (row held on
    /// PostgreSQL) and holds what it held then, its roles included. A change that slipped in between (a
    /// concurrent update, a role that grew) makes the write 409 `CONCURRENT_CHANGE` instead of acting on an
    /// account the check never saw; one that commits after this point is ordered after the write.
    public func confirm(_ ceiling: Ceiling, on connection: any DatabaseConnection) async throws {
        guard try await self.accounts.version(id: ceiling.accountID, holdingOn: connection) == ceiling.updatedAt,
            let account = try await self.accounts.find(id: ceiling.accountID, on: connection),
            Set(account.permissions).union(try await self.roles.permissions(of: account.roles, on: connection)) == ceiling.held
        else {
            throw IAMError.conflict("CONCURRENT_CHANGE", "The account changed while this request was being checked; try again.")
        }
    }

    /// The grant rule over what is given to `resource` (an account or a role): the `permissions` and the
    /// permissions of the roles `roleIDs` that it did not have before (`had`: what a change starts from;
    /// keeping what someone else granted is no new grant). Unknown permissions and roles are 400; a new role
    /// of another tenant than the resource's is 403 (`FOREIGN_ROLE`); then one grant decision over
    /// everything given, recorded. One policy snapshot serves the whole check, so a reload cannot split it.
    public func requireGrantable(
        _ caller: Principal, permissions: [String], roles: [String] = [], had: (permissions: [String], roles: [String]) = ([], []),
        to resource: ResourceRef, decisions: any ResourceDecisionRecorder
    ) async throws {
        let policies = self.policies.current
        let catalog = policies.catalog
        let permissions = permissions.filter { !had.permissions.contains($0) }
        let roleIDs = roles.filter { !had.roles.contains($0) }
        var problems: [(String, String)] = []
        for permission in permissions where !catalog.contains(permission) {
            let refusal = GrantRefusal.unknownPermission(permission)
            problems.append((refusal.reason, refusal.message))
        }
        var roles: [Role] = []
        for id in roleIDs {
            if let role = try await self.roles.find(id: id) {
                roles.append(role)
            } else {
                problems.append(("UNKNOWN_ROLE", "Unknown role \(id)."))
            }
        }
        guard problems.isEmpty else { throw IAMError.invalid(problems) }
        if let foreign = roles.first(where: { $0.tenant != nil && $0.tenant != resource.tenant }) {
            // The record names no permission: what another tenant's role holds is not the caller's to learn.
            let decision = Decision(outcome: .deny, reason: "FOREIGN_ROLE", policyRevision: policies.revision)
            try await policies.authorizer.check(decision, about: caller, on: resource, recordingTo: decisions)
            throw IAMError.forbidden("Role \(foreign.id) belongs to another tenant.", reason: "FOREIGN_ROLE")
        }
        var given: [String] = []
        var seen = Set<String>()
        for permission in permissions + roles.flatMap(\.permissions) where seen.insert(permission).inserted {
            given.append(permission)
        }
        let verdict = policies.grants.decideGrant(caller, given)
        guard try await policies.authorizer.check(verdict.decision, about: caller, on: resource, recordingTo: decisions) else {
            throw Self.error(for: verdict)
        }
    }

    /// The answer to a refused grant: 400 for a permission the catalog does not know (only a role can bring
    /// one, one the policy files no longer list), 403 naming the permission at fault otherwise.
    static func error(for verdict: GrantVerdict) -> IAMError {
        guard let refusal = verdict.refusal else { return .forbidden("Not allowed.") }
        if case .unknownPermission = refusal {
            return .invalid([(refusal.reason, refusal.message)])
        }
        return .forbidden(refusal.message, reason: refusal.reason)
    }
}
