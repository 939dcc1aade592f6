import Foundation
public import Policy
public import PortcullisCore

/// OIH's tenant membership routes: the accounts of a tenant, adding an existing account to a tenant, and
/// taking one out. Moving an account between tenants is a platform admin's act (`iam.account.update`): a
/// tenant admin could otherwise pull accounts into its reach or push them out of anyone's.
extension AccountAdministration {
    /// The accounts of `tenantID`, for callers who may read that tenant's accounts (others: 404).
    public func members(
        of tenantID: String, by caller: Principal, offset: Int, limit: Int, decisions: any ResourceDecisionRecorder
    ) async throws -> (items: [Account], total: Int) {
        guard try await self.tenants.find(id: tenantID) != nil,
            try await self.authorizer.check(
                caller, ResourceAction(platform: "iam.account.read", tenant: "tenant.account.read"),
                on: ResourceRef(type: "tenant", id: tenantID, tenant: tenantID), recordingTo: decisions)
        else { throw IAMError.notFound("Tenant not found.") }
        return try await self.accounts.list(tenant: tenantID, offset: offset, limit: limit)
    }

    /// Moves an existing account (by id or username) into `tenantID`, dropping its old tenant's roles, and
    /// optionally gives it `roles` of the new tenant (the grant rule applies).
    public func addMember(
        accountID: String?, username: String?, roles: [String]?, to tenantID: String, by caller: Principal,
        decisions: any ResourceDecisionRecorder, requestID: String?
    ) async throws -> Account {
        guard try await self.tenants.find(id: tenantID) != nil else {
            throw IAMError.notFound("Tenant not found.")
        }
        if (roles?.count ?? 0) > Self.maximumListLength {
            throw IAMError.invalid([("TOO_MANY_ITEMS", "roles may list at most \(Self.maximumListLength) entries.")])
        }
        let found: Account?
        if let accountID {
            found = try await self.accounts.find(id: accountID)
        } else if let username {
            found = try await self.accounts.credentials(username: username)?.account
        } else {
            throw IAMError.invalid([("MISSING_FIELD", "id or username of the account is required.")])
        }
        guard var account = found, try await self.check(caller, "update", account, decisions) else {
            throw IAMError.notFound("Account not found.")
        }
        try await self.refuseFlowAccount(account.id)
        let ceiling = try await self.grants.requireCeiling(caller, over: account, decisions: decisions)
        if account.tenant != tenantID {
            try await self.move(&account, to: tenantID, by: caller, decisions: decisions)
        }
        if let roles {
            let had = account.roles
            account.roles = Array(Set(account.roles + roles)).sorted()
            try await self.grants.requireGrantable(
                caller, permissions: [], roles: account.roles, had: ([], had), to: GrantChecks.resource(account), decisions: decisions)
        }
        return try await self.save(account, passwordHash: nil, confirming: ceiling, requestID: requestID)
    }

    /// Takes `accountID` out of `tenantID`: it keeps its own permissions, loses the tenant's roles, and
    /// belongs to no tenant. 404 when it is not a member the caller may see.
    public func removeMember(
        _ accountID: String, from tenantID: String, by caller: Principal, decisions: any ResourceDecisionRecorder, requestID: String?
    ) async throws -> Account {
        guard var account = try await self.accounts.find(id: accountID), account.tenant == tenantID,
            try await self.check(caller, "update", account, decisions)
        else { throw IAMError.notFound("Account not found.") }
        try await self.refuseFlowAccount(account.id)
        let ceiling = try await self.grants.requireCeiling(caller, over: account, decisions: decisions)
        try await self.move(&account, to: nil, by: caller, decisions: decisions)
        return try await self.save(account, passwordHash: nil, confirming: ceiling, requestID: requestID)
    }
}
