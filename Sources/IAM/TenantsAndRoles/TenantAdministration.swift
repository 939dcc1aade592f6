import Foundation
public import Messaging
public import Policy
public import PortcullisCore
public import Storage

/// Tenants: platform admins manage all (`iam.tenant.*`); a tenant admin reads and updates its own
/// (`tenant.profile.*`). Deleting a tenant disables its accounts and revokes their tokens at once.
public struct TenantAdministration: Sendable {
    let database: any Database
    let store: TenantStore
    let accounts: AccountStore
    let tokens: TokenStore
    let cache: PrincipalCache
    let policies: PolicyStore
    let bus: any EventBus
    let clock: WallClock
    var authorizer: Authorizer { self.policies.current.authorizer }

    public init(
        database: any Database, store: TenantStore, accounts: AccountStore, tokens: TokenStore, cache: PrincipalCache, policies: PolicyStore,
        bus: any EventBus, clock: WallClock
    ) {
        self.database = database
        self.store = store
        self.accounts = accounts
        self.tokens = tokens
        self.cache = cache
        self.policies = policies
        self.bus = bus
        self.clock = clock
    }

    func scope(of caller: Principal, platform: String, own: String) -> CallerScope {
        CallerScope.of(caller, platform: platform, tenant: own, authorizer: self.authorizer)
    }

    /// The resource-level decision on `iam.tenant.<action>` (any tenant) or `own` (the caller's tenant only).
    func check(_ caller: Principal, _ action: String, own: String, _ tenant: Tenant, _ decisions: any ResourceDecisionRecorder) async throws -> Bool {
        try await self.authorizer.check(
            caller, ResourceAction(platform: "iam.tenant.\(action)", tenant: own), on: ResourceRef(type: "tenant", id: tenant.id, tenant: tenant.id),
            recordingTo: decisions)
    }

    public func list(by caller: Principal, offset: Int, limit: Int) async throws -> (items: [Tenant], total: Int) {
        guard let listing = self.scope(of: caller, platform: "iam.tenant.read", own: "tenant.profile.read").listing else {
            throw IAMError.forbidden(PermissionRequirement.allOf(["iam.tenant.read"]).refusal(missing: ["iam.tenant.read"]))
        }
        return try await self.store.list(only: listing.tenant, offset: offset, limit: limit)
    }

    public func get(_ id: String, by caller: Principal, decisions: any ResourceDecisionRecorder) async throws -> Tenant {
        guard let tenant = try await self.store.find(id: id), try await self.check(caller, "read", own: "tenant.profile.read", tenant, decisions)
        else { throw IAMError.notFound("Tenant not found.") }
        return tenant
    }

    public func create(name: String?, status: String?, by caller: Principal, requestID: String?) async throws -> Tenant {
        guard self.authorizer.holds(caller, "iam.tenant.create") else {
            throw IAMError.forbidden(PermissionRequirement.allOf(["iam.tenant.create"]).refusal(missing: ["iam.tenant.create"]))
        }
        let tenantStatus = try Self.validate(name: name, status: status, requireName: true)
        let now = self.clock.now
        let tenant = Tenant(id: Identifiers.objectID(), name: name ?? "", status: tenantStatus ?? .active, createdAt: now, updatedAt: now)
        try await self.write("iam.tenant.created", tenant: tenant, requestID: requestID) { connection in
            try await self.store.insert(tenant, on: connection)
        }
        return tenant
    }

    /// Changes a tenant; `replace` is OIH's PUT, which needs the name (status changes only when given).
    public func update(
        _ id: String, name: String?, status: String?, replace: Bool = false, by caller: Principal, decisions: any ResourceDecisionRecorder,
        requestID: String?
    ) async throws -> Tenant {
        guard var tenant = try await self.store.find(id: id), try await self.check(caller, "update", own: "tenant.profile.update", tenant, decisions)
        else { throw IAMError.notFound("Tenant not found.") }
        let checked = tenant.updatedAt
        if let status = try Self.validate(name: name, status: status, requireName: replace), status != tenant.status {
            // Enabling or disabling a tenant decides whether all its accounts work: a platform act, not a profile edit.
            let allowed = try await self.authorizer.check(
                caller, ResourceAction(platform: "iam.tenant.update"), on: ResourceRef(type: "tenant", id: id, tenant: id), recordingTo: decisions)
            guard allowed else { throw IAMError.forbidden("Only platform admins enable or disable tenants.", reason: "MISSING_PERMISSION") }
            tenant.status = status
        }
        if let name { tenant.name = name }
        tenant.updatedAt = max(self.clock.now, checked.addingTimeInterval(0.001))
        let updated = tenant
        let database = self.database
        try await self.write("iam.tenant.modified", tenant: updated, requestID: requestID) { connection in
            // Only over the version that was checked: a concurrent change (a platform admin's disable) wins.
            guard try await self.store.update(updated, ifUpdatedAt: checked, on: connection) else {
                throw IAMError.conflict("CONCURRENT_CHANGE", "The tenant changed while this request was being checked; try again.")
            }
            // A tenant's status decides whether its accounts' tokens work: every replica re-checks them.
            try await IdentityChanges.announce("*", database: database, on: connection)
        }
        self.cache.purge("*")
        return updated
    }

    public func delete(_ id: String, by caller: Principal, decisions: any ResourceDecisionRecorder, requestID: String?) async throws {
        guard let tenant = try await self.store.find(id: id),
            try await self.authorizer.check(
                caller, ResourceAction(platform: "iam.tenant.delete"), on: ResourceRef(type: "tenant", id: id, tenant: id), recordingTo: decisions)
        else { throw IAMError.notFound("Tenant not found.") }
        let database = self.database
        try await self.write("iam.tenant.deleted", tenant: tenant, requestID: requestID) { connection in
            let members = try await self.accounts.disableAll(inTenant: id, at: self.clock.now, on: connection)
            for member in members {
                _ = try await self.tokens.revokeAll(accountID: member, on: connection)
            }
            try await self.store.delete(id: id, on: connection)
            try await IdentityChanges.announce("*", database: database, on: connection)
        }
        self.cache.purge("*")
    }

    /// Name 1-200 characters; status ACTIVE or DISABLED (any case).
    static func validate(name: String?, status: String?, requireName: Bool) throws -> AccountStatus? {
        var problems: [(String, String)] = []
        if let name {
            if name.trimmingCharacters(in: .whitespaces).isEmpty || name.count > 200 {
                problems.append(("INVALID_NAME", "name must have 1-200 characters."))
            }
        } else if requireName {
            problems.append(("MISSING_FIELD", "name is required."))
        }
        var parsed: AccountStatus?
        if let status {
            parsed = AccountStatus(caseInsensitive: status)
            if parsed == nil { problems.append(("INVALID_STATUS", "status must be ACTIVE or DISABLED.")) }
        }
        guard problems.isEmpty else { throw IAMError.invalid(problems) }
        return parsed
    }

    private func write(
        _ event: String, tenant: Tenant, requestID: String?, _ body: @Sendable @escaping (any DatabaseConnection) async throws -> Void
    ) async throws {
        do {
            try await self.database.transaction { connection in
                try await body(connection)
                let payload: JSONValue = ["id": .string(tenant.id), "name": .string(tenant.name), "status": .string(tenant.status.rawValue)]
                try await self.bus.publish(
                    try Event(name: event, serviceName: "iam", payload: payload, requestID: requestID, tenant: tenant.id, now: self.clock.now),
                    on: connection)
            }
        } catch StorageError.uniqueViolation {
            throw IAMError.conflict("NAME_TAKEN", "A tenant with this name exists.")
        }
    }
}
