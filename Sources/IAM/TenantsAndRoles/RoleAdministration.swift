import Foundation
public import Policy
public import PortcullisCore
public import Storage

/// Roles: built-ins are read-only and their names reserved; platform admins manage every role; a tenant
/// admin (`tenant.roles.*`) the roles of its own tenant. A role holds only what its maker may grant
/// (``GrantChecks``): the same rule as a direct grant, so that roles cannot launder permissions. Changing or deleting a role changes the live
/// permissions of every account holding it, on every replica, at once.
public struct RoleAdministration: Sendable {
    let database: any Database
    let roles: RoleStore
    let cache: PrincipalCache
    let policies: PolicyStore
    let grants: GrantChecks
    var authorizer: Authorizer { self.policies.current.authorizer }

    public init(database: any Database, roles: RoleStore, cache: PrincipalCache, policies: PolicyStore, grants: GrantChecks) {
        self.database = database
        self.roles = roles
        self.cache = cache
        self.policies = policies
        self.grants = grants
    }

    func scope(of caller: Principal, action: String) -> CallerScope {
        CallerScope.of(caller, platform: PermissionCatalog.all, tenant: "tenant.roles.\(action)", authorizer: self.authorizer)
    }

    /// Built-in roles and the roles the caller's scope sees.
    public func list(by caller: Principal) async throws -> [Role] {
        let scope = self.scope(of: caller, action: "read")
        // A listing is filtered, not decided role by role: it is the route's decision that is recorded.
        return try await self.roles.all().filter { $0.builtIn || ($0.tenant.map { scope.sees($0) } ?? (scope == .platform)) }
    }

    /// A built-in role (part of the catalog everyone may read) or a role the caller's resource check allows.
    public func get(_ id: String, by caller: Principal, decisions: any ResourceDecisionRecorder) async throws -> Role {
        guard let role = try await self.roles.find(id: id) else { throw IAMError.notFound("Role not found.") }
        if role.builtIn { return role }
        guard try await self.check(caller, "read", role, decisions) else { throw IAMError.notFound("Role not found.") }
        return role
    }

    public func create(
        name: String?, description: String?, permissions: [String]?, tenant: String?, by caller: Principal, decisions: any ResourceDecisionRecorder
    ) async throws -> Role {
        let name = (name ?? "").trimmingCharacters(in: .whitespaces)
        var problems: [(String, String)] = []
        if name.isEmpty || name.count > 100 { problems.append(("INVALID_NAME", "name must have 1-100 characters.")) }
        if (permissions ?? []).count > Self.maximumPermissions {
            problems.append(("TOO_MANY_PERMISSIONS", "A role may list at most \(Self.maximumPermissions) permissions."))
        }
        guard problems.isEmpty else { throw IAMError.invalid(problems) }
        // Platform admins create roles anywhere (or platform-wide); tenant admins in their own tenant.
        let owner = self.scope(of: caller, action: "create") == .platform ? tenant : (tenant ?? caller.tenant)
        let role = Role(
            id: Identifiers.objectID(), name: name, description: description ?? "", permissions: permissions ?? [], tenant: owner, builtIn: false)
        try await self.requireUnreservedName(name, for: role, by: caller, decisions: decisions)
        guard try await self.check(caller, "create", role, decisions) else {
            throw IAMError.forbidden("Roles can only be created in your own tenant.", reason: "FOREIGN_TENANT")
        }
        try await self.grants.requireGrantable(caller, permissions: role.permissions, to: Self.resource(role), decisions: decisions)
        do {
            try await self.roles.insert(role)
        } catch StorageError.uniqueViolation {
            throw IAMError.conflict("NAME_TAKEN", "A role with this name exists.")
        }
        return role
    }

    public func update(
        _ id: String, name: String?, description: String?, permissions: [String]?, by caller: Principal, decisions: any ResourceDecisionRecorder
    ) async throws -> Role {
        var role = try await self.writable(id, by: caller, action: "update", decisions: decisions)
        var problems: [(String, String)] = []
        if let name {
            let trimmed = name.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.count > 100 { problems.append(("INVALID_NAME", "name must have 1-100 characters.")) }
            role.name = trimmed
        }
        if (permissions ?? []).count > Self.maximumPermissions {
            problems.append(("TOO_MANY_PERMISSIONS", "A role may list at most \(Self.maximumPermissions) permissions."))
        }
        if let description { role.description = description }
        guard problems.isEmpty else { throw IAMError.invalid(problems) }
        if name != nil { try await self.requireUnreservedName(role.name, for: role, by: caller, decisions: decisions) }
        if let permissions {
            try await self.grants.requireGrantable(
                caller, permissions: permissions, had: (role.permissions, []), to: Self.resource(role), decisions: decisions)
            role.permissions = permissions
        }
        let updated = role
        let database = self.database
        do {
            try await database.transaction { connection in
                try await self.roles.update(updated, on: connection)
                try await IdentityChanges.announce("*", database: database, on: connection)
            }
        } catch StorageError.uniqueViolation {
            throw IAMError.conflict("NAME_TAKEN", "A role with this name exists.")
        }
        self.cache.purge("*")
        return updated
    }

    public func delete(_ id: String, by caller: Principal, decisions: any ResourceDecisionRecorder) async throws {
        _ = try await self.writable(id, by: caller, action: "delete", decisions: decisions)
        let database = self.database
        try await database.transaction { connection in
            try await self.roles.delete(id: id, on: connection)
            try await IdentityChanges.announce("*", database: database, on: connection)
        }
        self.cache.purge("*")
    }

    /// Longest permission list a role may have (the catalog is far shorter): a bounded body, a bounded check.
    static let maximumPermissions = 100

    /// A role the caller may change: allowed by the resource check (else 404) and not built-in (403, a
    /// recorded deny).
    private func writable(_ id: String, by caller: Principal, action: String, decisions: any ResourceDecisionRecorder) async throws -> Role {
        guard let role = try await self.roles.find(id: id) else { throw IAMError.notFound("Role not found.") }
        if role.builtIn {
            let policies = self.policies.current
            let decision = Decision(outcome: .deny, reason: "BUILT_IN", policyRevision: policies.revision)
            try await policies.authorizer.check(decision, about: caller, on: Self.resource(role), recordingTo: decisions)
            throw IAMError.forbidden("Built-in roles cannot be changed.", reason: "BUILT_IN")
        }
        guard try await self.check(caller, action, role, decisions) else { throw IAMError.notFound("Role not found.") }
        return role
    }

    /// The built-in role names are reserved for everyone: a refusal is a recorded deny (403 `RESERVED_NAME`).
    private func requireUnreservedName(_ name: String, for role: Role, by caller: Principal, decisions: any ResourceDecisionRecorder) async throws {
        let policies = self.policies.current
        guard policies.reservedRoleNames.contains(name.uppercased()) else { return }
        let decision = Decision(outcome: .deny, reason: "RESERVED_NAME", policyRevision: policies.revision)
        try await policies.authorizer.check(decision, about: caller, on: Self.resource(role), recordingTo: decisions)
        throw IAMError.forbidden("The role name \(name) is reserved.", reason: "RESERVED_NAME")
    }

    /// The resource-level decision on `tenant.roles.<action>` over `role`: platform admins reach every
    /// role, tenant admins their own tenant's.
    private func check(_ caller: Principal, _ action: String, _ role: Role, _ decisions: any ResourceDecisionRecorder) async throws -> Bool {
        try await self.authorizer.check(
            caller, ResourceAction(platform: PermissionCatalog.all, tenant: "tenant.roles.\(action)"),
            on: Self.resource(role), recordingTo: decisions)
    }

    static func resource(_ role: Role) -> ResourceRef {
        ResourceRef(type: "role", id: role.id, tenant: role.tenant)
    }
}
