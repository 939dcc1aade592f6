import Foundation
import Logging
public import Messaging
public import Policy
public import PortcullisCore
import Storage

/// Creating, changing and deleting accounts, with the contract's rules: tenant admins are confined to
/// their tenant in every read and write, only platform admins grant restricted permissions, roles must be
/// built-in or of the account's tenant, and every change reaches every replica's cache at once.
public struct AccountAdministration: Sendable {
    /// The writable fields of an account; nil means "leave as it is" (on update) or "default" (on create).
    public struct Changes: Sendable {
        public var username: String?
        public var password: String?
        public var firstname: String?
        public var lastname: String?
        public var tenant: String?
        public var status: String?
        public var type: String?
        public var roles: [String]?
        public var permissions: [String]?

        public init(
            username: String? = nil, password: String? = nil, firstname: String? = nil, lastname: String? = nil, tenant: String? = nil,
            status: String? = nil, type: String? = nil, roles: [String]? = nil, permissions: [String]? = nil
        ) {
            self.username = username
            self.password = password
            self.firstname = firstname
            self.lastname = lastname
            self.tenant = tenant
            self.status = status
            self.type = type
            self.roles = roles
            self.permissions = permissions
        }
    }

    let identity: Identity
    let authorizer: Authorizer
    public let passwordPolicy: PasswordPolicy
    let bus: any EventBus

    public init(identity: Identity, passwordPolicy: PasswordPolicy, bus: any EventBus) {
        self.identity = identity
        self.authorizer = identity.policies.authorizer
        self.passwordPolicy = passwordPolicy
        self.bus = bus
    }

    public func scope(of caller: Principal, action: String) -> CallerScope {
        CallerScope.of(caller, platform: "iam.account.\(action)", tenant: "tenant.account.\(action)", authorizer: self.authorizer)
    }

    /// The resource-level decision on `action` over `account`, recorded for the request: a tenant admin
    /// reaches only accounts of its own tenant.
    func check(_ caller: Principal, _ action: String, _ account: Account, _ decisions: any ResourceDecisionRecorder) async throws -> Bool {
        try await self.authorizer.check(
            caller, ResourceAction(platform: "iam.account.\(action)", tenant: "tenant.account.\(action)"),
            on: ResourceRef(type: account.type == .service ? "service-account" : "account", id: account.id, tenant: account.tenant),
            recordingTo: decisions
        )
    }

    public func list(by caller: Principal, offset: Int, limit: Int) async throws -> (items: [Account], total: Int) {
        guard let filter = self.scope(of: caller, action: "read").listFilter else { throw IAMError.forbidden("Missing permission iam.account.read") }
        return try await self.identity.accounts.list(tenant: filter, offset: offset, limit: limit)
    }

    public func get(_ id: String, by caller: Principal, decisions: any ResourceDecisionRecorder) async throws -> Account {
        guard let account = try await self.identity.accounts.find(id: id), try await self.check(caller, "read", account, decisions) else {
            throw IAMError.notFound("Account not found.")
        }
        return account
    }

    public func create(_ changes: Changes, by caller: Principal, requestID: String?, requirePassword: Bool = true) async throws -> Account {
        let scope = self.scope(of: caller, action: "create")
        var problems: [(String, String)] = []
        let username = changes.username.map(Username.canonical) ?? ""
        if !Username.isValid(username) { problems.append(("INVALID_USERNAME", "username is required: 1-256 characters, no control characters.")) }
        if let password = changes.password {
            if let problem = self.passwordPolicy.problem(with: password) { problems.append(("WEAK_PASSWORD", problem)) }
        } else if requirePassword {
            problems.append(("WEAK_PASSWORD", "password is required."))
        }
        let status = try self.status(changes.status, problems: &problems) ?? .active
        let type = changes.type.map { Principal.AccountType(rawValue: $0.lowercased()) } ?? .user
        if type == nil { problems.append(("INVALID_TYPE", "type must be user or service.")) }
        let tenant: String?
        switch scope {
        case .platform: tenant = changes.tenant
        case .tenant(let own):
            guard changes.tenant == nil || changes.tenant == own else { throw IAMError.forbidden("Accounts can only be created in your own tenant.") }
            tenant = own
        case .none: throw IAMError.forbidden("Missing permission iam.account.create")
        }
        try self.checkGrants(changes.permissions ?? [], roles: [], by: caller, problems: &problems)
        guard problems.isEmpty else { throw IAMError.invalid(problems) }
        try await self.checkRoles(changes.roles ?? [], tenant: tenant, by: caller)
        if let tenant, try await TenantStore(database: self.identity.database).find(id: tenant) == nil {
            throw IAMError.invalid([("UNKNOWN_TENANT", "Tenant \(tenant) does not exist.")])
        }
        let now = Date()
        let account = Account(
            id: Identifiers.objectID(), username: username, firstname: changes.firstname, lastname: changes.lastname, tenant: tenant,
            status: status, type: type ?? .user, roles: changes.roles ?? [], permissions: changes.permissions ?? [], createdAt: now, updatedAt: now
        )
        let hash = try await changes.password.asyncMap { try await self.identity.hasher.hash($0) }
        do {
            try await self.identity.database.transaction { connection in
                try await self.identity.accounts.insert(account, passwordHash: hash, on: connection)
                try await self.publish("iam.user.created", account: account, requestID: requestID, on: connection)
            }
        } catch StorageError.uniqueViolation {
            throw IAMError.conflict("USERNAME_TAKEN", "The username is taken.")
        }
        return account
    }

    public func update(
        _ id: String, _ changes: Changes, by caller: Principal, decisions: any ResourceDecisionRecorder, requestID: String?
    ) async throws -> Account {
        let scope = self.scope(of: caller, action: "update")
        guard var account = try await self.identity.accounts.find(id: id), try await self.check(caller, "update", account, decisions) else {
            throw IAMError.notFound("Account not found.")
        }
        var problems: [(String, String)] = []
        if let username = changes.username.map(Username.canonical) {
            if Username.isValid(username) { account.username = username } else { problems.append(("INVALID_USERNAME", "username is invalid.")) }
        }
        if let password = changes.password, let problem = self.passwordPolicy.problem(with: password) { problems.append(("WEAK_PASSWORD", problem)) }
        if let status = try self.status(changes.status, problems: &problems) { account.status = status }
        if let tenant = changes.tenant, tenant != account.tenant {
            guard scope == .platform else { throw IAMError.forbidden("Only platform admins move accounts between tenants.") }
            account.tenant = tenant
        }
        if let permissions = changes.permissions {
            try self.checkGrants(permissions, roles: [], by: caller, problems: &problems)
            account.permissions = permissions
        }
        if changes.firstname != nil { account.firstname = changes.firstname }
        if changes.lastname != nil { account.lastname = changes.lastname }
        guard problems.isEmpty else { throw IAMError.invalid(problems) }
        if let roles = changes.roles {
            try await self.checkRoles(roles, tenant: account.tenant, by: caller)
            account.roles = roles
        }
        account.updatedAt = Date()
        let newHash = try await changes.password.asyncMap { try await self.identity.hasher.hash($0) }
        let updated = account
        do {
            try await self.identity.database.transaction { connection in
                try await self.identity.accounts.update(updated, on: connection)
                if let newHash {
                    try await self.identity.accounts.setPasswordHash(newHash, accountID: id, on: connection)
                    _ = try await self.identity.tokens.revokeAll(accountID: id, on: connection)
                }
                try await IdentityChanges.announce("account:\(id)", database: self.identity.database, on: connection)
                try await self.publish("iam.user.modified", account: updated, requestID: requestID, on: connection)
            }
        } catch StorageError.uniqueViolation {
            throw IAMError.conflict("USERNAME_TAKEN", "The username is taken.")
        }
        self.identity.cache.purge("account:\(id)")
        return updated
    }

    public func delete(_ id: String, by caller: Principal, decisions: any ResourceDecisionRecorder, requestID: String?) async throws {
        guard let account = try await self.identity.accounts.find(id: id), try await self.check(caller, "delete", account, decisions) else {
            throw IAMError.notFound("Account not found.")
        }
        guard account.id != caller.accountID else { throw IAMError.conflict("SELF_DELETE", "You cannot delete your own account.") }
        try await self.identity.database.transaction { connection in
            _ = try await self.identity.tokens.revokeAll(accountID: id, on: connection)
            try await self.identity.accounts.delete(id: id, on: connection)
            try await IdentityChanges.announce("account:\(id)", database: self.identity.database, on: connection)
            try await self.publish("iam.user.deleted", account: account, requestID: requestID, on: connection)
        }
        self.identity.cache.purge("account:\(id)")
    }

    private func status(_ text: String?, problems: inout [(String, String)]) throws -> AccountStatus? {
        guard let text else { return nil }
        guard let status = AccountStatus(caseInsensitive: text) else {
            problems.append(("INVALID_STATUS", "status must be ACTIVE or DISABLED."))
            return nil
        }
        return status
    }

    /// Unknown permissions are a 400; restricted ones from a caller who is not a platform admin a 403;
    /// and nobody grants what they do not hold themselves.
    func checkGrants(_ permissions: [String], roles: [String], by caller: Principal, problems: inout [(String, String)]) throws {
        let catalog = self.identity.policies.catalog
        for permission in permissions where !catalog.contains(permission) {
            problems.append(("UNKNOWN_PERMISSION", "Unknown permission \(permission)."))
        }
        for permission in permissions where catalog.contains(permission) {
            if catalog[permission]?.restricted == true && !self.authorizer.holds(caller, PermissionCatalog.all) {
                throw IAMError.forbidden("Only platform admins may grant \(permission).")
            }
            if !self.authorizer.holds(caller, permission) {
                throw IAMError.forbidden("You cannot grant \(permission), which you do not hold.")
            }
        }
    }

    /// Roles must exist and be built-in or of the account's tenant; the admin roles only a platform admin gives.
    func checkRoles(_ roles: [String], tenant: String?, by caller: Principal) async throws {
        let isPlatformAdmin = self.authorizer.holds(caller, PermissionCatalog.all)
        for id in roles {
            guard let role = try await self.identity.roles.find(id: id) else {
                throw IAMError.invalid([("UNKNOWN_ROLE", "Unknown role \(id).")])
            }
            if let roleTenant = role.tenant, roleTenant != tenant {
                throw IAMError.forbidden("Role \(id) belongs to another tenant.")
            }
            if !isPlatformAdmin && role.permissions.contains(where: { self.identity.policies.catalog[$0]?.restricted == true }) {
                throw IAMError.forbidden("Only platform admins may assign role \(role.name).")
            }
        }
    }

    private func publish(_ name: String, account: Account, requestID: String?, on connection: any DatabaseConnection) async throws {
        let payload: JSONValue = [
            "id": .string(account.id), "username": .string(account.username), "tenant": account.tenant.map(JSONValue.string) ?? .null,
        ]
        try await self.bus.publish(
            try Event(name: name, serviceName: "iam", payload: payload, requestId: requestID, tenant: account.tenant), on: connection)
    }
}

/// Errors of the administration services; the gateway maps each to the contract's status and reason.
public enum IAMError: Error, Sendable {
    case invalid([(String, String)])
    case forbidden(String)
    case notFound(String)
    case conflict(String, String)
}

extension Optional {
    func asyncMap<T>(_ transform: (Wrapped) async throws -> T) async rethrows -> T? {
        guard let value = self else { return nil }
        return try await transform(value)
    }
}
