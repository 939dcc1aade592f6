import Foundation
import Logging
public import Messaging
public import Policy
public import PortcullisCore
public import Storage

/// Creating, changing and deleting accounts, with the contract's rules: tenant admins are confined to
/// their tenant in every read and write, only platform admins grant restricted permissions, roles must be
/// built-in or of the account's tenant, nobody gives or acts on more than it holds (``GrantChecks``), and
/// every change reaches every replica's cache at once.
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

    let database: any Database
    let accounts: AccountStore
    let tenants: TenantStore
    let roles: RoleStore
    let tokens: TokenStore
    let clients: ServiceClientStore
    let cache: PrincipalCache
    let hasher: any PasswordHasher
    let policies: PolicyStore
    let grants: GrantChecks
    public let passwordPolicy: PasswordPolicy
    let bus: any EventBus
    let clock: WallClock
    var authorizer: Authorizer { self.policies.current.authorizer }

    public init(
        database: any Database, accounts: AccountStore, tenants: TenantStore, roles: RoleStore, tokens: TokenStore, clients: ServiceClientStore,
        cache: PrincipalCache,
        hasher: any PasswordHasher, policies: PolicyStore, grants: GrantChecks, passwordPolicy: PasswordPolicy, bus: any EventBus, clock: WallClock
    ) {
        self.database = database
        self.accounts = accounts
        self.tenants = tenants
        self.roles = roles
        self.tokens = tokens
        self.clients = clients
        self.cache = cache
        self.hasher = hasher
        self.policies = policies
        self.clock = clock
        self.grants = grants
        self.passwordPolicy = passwordPolicy
        self.bus = bus
    }

    public func scope(of caller: Principal, action: String) -> CallerScope {
        CallerScope.of(caller, platform: "iam.account.\(action)", tenant: "tenant.account.\(action)", authorizer: self.authorizer)
    }

    /// A running flow's token account is managed by its flow (``FlowTokenAccounts``): changing its rights or
    /// deleting it by hand would break the flow or widen what its components may do.
    func refuseFlowAccount(_ id: String) async throws {
        if try await FlowTokenAccounts.isFlowAccount(id, database: self.database) {
            throw IAMError.conflict("FLOW_ACCOUNT", "This account is the token of a running flow; stopping the flow removes it.")
        }
    }

    /// The resource-level decision on `action` over `account`, recorded for the request: a tenant admin
    /// reaches only accounts of its own tenant.
    func check(_ caller: Principal, _ action: String, _ account: Account, _ decisions: any ResourceDecisionRecorder) async throws -> Bool {
        try await self.authorizer.check(
            caller, ResourceAction(platform: "iam.account.\(action)", tenant: "tenant.account.\(action)"), on: GrantChecks.resource(account),
            recordingTo: decisions)
    }

    public func list(by caller: Principal, offset: Int, limit: Int) async throws -> (items: [Account], total: Int) {
        guard let listing = self.scope(of: caller, action: "read").listing else {
            throw IAMError.forbidden(PermissionRequirement.allOf(["iam.account.read"]).refusal(missing: ["iam.account.read"]))
        }
        return try await self.accounts.list(tenant: listing.tenant, offset: offset, limit: limit)
    }

    public func get(_ id: String, by caller: Principal, decisions: any ResourceDecisionRecorder) async throws -> Account {
        guard let account = try await self.accounts.find(id: id), try await self.check(caller, "read", account, decisions) else {
            throw IAMError.notFound("Account not found.")
        }
        return account
    }

    public func create(
        _ changes: Changes, by caller: Principal, decisions: any ResourceDecisionRecorder, requestID: String?, requirePassword: Bool = true
    ) async throws -> Account {
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
        problems += self.listProblems(changes)
        guard problems.isEmpty else { throw IAMError.invalid(problems) }
        // Platform account admins create in any tenant (or none); tenant admins in their own.
        let tenant = self.scope(of: caller, action: "create") == .platform ? changes.tenant : (changes.tenant ?? caller.tenant)
        let now = self.clock.now
        let account = Account(
            id: Identifiers.objectID(), username: username, firstname: changes.firstname, lastname: changes.lastname, tenant: tenant,
            status: status, type: type ?? .user, roles: changes.roles ?? [], permissions: changes.permissions ?? [], createdAt: now, updatedAt: now
        )
        guard try await self.check(caller, "create", account, decisions) else {
            throw IAMError.forbidden("Accounts can only be created in your own tenant.", reason: "FOREIGN_TENANT")
        }
        try await self.grants.requireGrantable(
            caller, permissions: account.permissions, roles: account.roles, to: GrantChecks.resource(account), decisions: decisions)
        if let tenant, try await self.tenants.find(id: tenant) == nil {
            throw IAMError.invalid([("UNKNOWN_TENANT", "Tenant \(tenant) does not exist.")])
        }
        let hash = try await changes.password.asyncMap { try await self.hasher.hash($0) }
        do {
            try await self.database.transaction { connection in
                try await self.accounts.insert(account, passwordHash: hash, on: connection)
                try await self.publish("iam.user.created", account: account, requestID: requestID, on: connection)
            }
        } catch StorageError.uniqueViolation {
            throw IAMError.conflict("USERNAME_TAKEN", "The username is taken.")
        }
        return account
    }

    /// Changes an account. `replace` is OIH's PUT: every profile field, the roles and the permissions take
    /// the body's values, absent ones included (cleared); status, tenant and password change only when given.
    ///
    /// The caller must see the account (else 404), hold everything the account holds (the ceiling, else
    /// 403), and be able to grant any permissions and roles it gives (the grant rule, else 403).
    public func update(
        _ id: String, _ changes: Changes, replace: Bool = false, by caller: Principal, decisions: any ResourceDecisionRecorder, requestID: String?
    ) async throws -> Account {
        guard var account = try await self.accounts.find(id: id), try await self.check(caller, "update", account, decisions) else {
            throw IAMError.notFound("Account not found.")
        }
        try await self.refuseFlowAccount(account.id)
        var problems: [(String, String)] = []
        if let username = changes.username.map(Username.canonical) {
            if Username.isValid(username) { account.username = username } else { problems.append(("INVALID_USERNAME", "username is invalid.")) }
        } else if replace {
            problems.append(("MISSING_FIELD", "username is required."))
        }
        if let password = changes.password, let problem = self.passwordPolicy.problem(with: password) { problems.append(("WEAK_PASSWORD", problem)) }
        if let status = try self.status(changes.status, problems: &problems) { account.status = status }
        if replace || changes.firstname != nil { account.firstname = changes.firstname }
        if replace || changes.lastname != nil { account.lastname = changes.lastname }
        problems += self.listProblems(changes)
        guard problems.isEmpty else { throw IAMError.invalid(problems) }
        let ceiling = try await self.grants.requireCeiling(caller, over: account, decisions: decisions)

        if let tenant = changes.tenant, tenant != account.tenant {
            try await self.move(&account, to: tenant, by: caller, decisions: decisions)
        }
        let had = (permissions: account.permissions, roles: account.roles)
        if let permissions = changes.permissions ?? (replace ? [] : nil) { account.permissions = permissions }
        if let roles = changes.roles ?? (replace ? [] : nil) { account.roles = roles }
        if changes.permissions != nil || changes.roles != nil || replace {
            try await self.grants.requireGrantable(
                caller, permissions: account.permissions, roles: account.roles, had: had, to: GrantChecks.resource(account), decisions: decisions)
        }
        let newHash = try await changes.password.asyncMap { try await self.hasher.hash($0) }
        return try await self.save(account, passwordHash: newHash, confirming: ceiling, requestID: requestID)
    }

    /// Moves `account` to `tenant`, or out of any tenant (nil): platform account admins only, the tenant
    /// must exist, and the roles of the old tenant, which mean nothing elsewhere, are dropped.
    func move(_ account: inout Account, to tenant: String?, by caller: Principal, decisions: any ResourceDecisionRecorder) async throws {
        let allowed = try await self.policies.current.authorizer.check(
            caller, ResourceAction(platform: "iam.account.update"),
            on: ResourceRef(type: GrantChecks.resource(account).type, id: account.id, tenant: tenant), recordingTo: decisions)
        guard allowed else { throw IAMError.forbidden("Only platform admins move accounts between tenants.", reason: "FOREIGN_TENANT") }
        if let tenant, try await self.tenants.find(id: tenant) == nil {
            throw IAMError.invalid([("UNKNOWN_TENANT", "Tenant \(tenant) does not exist.")])
        }
        var kept: [String] = []
        for id in account.roles {
            guard let role = try await self.roles.find(id: id) else { continue }
            if role.tenant == nil || role.tenant == tenant { kept.append(id) }
        }
        account.roles = kept
        account.tenant = tenant
    }

    /// Writes a changed account, once `ceiling` confirms it is still the account that was checked; a new
    /// password hash revokes the account's tokens. Every replica's cache forgets the account on commit.
    ///
    /// - Returns: the account as written (with its new `updatedAt`).
    func save(_ account: Account, passwordHash: String?, confirming ceiling: GrantChecks.Ceiling, requestID: String?) async throws -> Account {
        var account = account
        // Strictly later than the version checked, so that the next writer's confirmation sees the change.
        account.updatedAt = max(self.clock.now, Timestamp.date(milliseconds: ceiling.updatedAt + 1))
        let id = account.id
        let written = account
        do {
            try await self.database.transaction { connection in
                try await self.grants.confirm(ceiling, on: connection)
                try await self.accounts.update(written, on: connection)
                if let passwordHash {
                    try await self.accounts.setPasswordHash(passwordHash, accountID: id, on: connection)
                    _ = try await self.tokens.revokeAll(accountID: id, on: connection)
                }
                try await IdentityChanges.announce("account:\(id)", database: self.database, on: connection)
                try await self.publish("iam.user.modified", account: written, requestID: requestID, on: connection)
            }
        } catch StorageError.uniqueViolation {
            throw IAMError.conflict("USERNAME_TAKEN", "The username is taken.")
        }
        self.cache.purge("account:\(id)")
        return written
    }

    public func delete(_ id: String, by caller: Principal, decisions: any ResourceDecisionRecorder, requestID: String?) async throws {
        guard let account = try await self.accounts.find(id: id), try await self.check(caller, "delete", account, decisions) else {
            throw IAMError.notFound("Account not found.")
        }
        guard account.id != caller.accountID else { throw IAMError.conflict("SELF_DELETE", "You cannot delete your own account.") }
        try await self.refuseFlowAccount(account.id)
        let ceiling = try await self.grants.requireCeiling(caller, over: account, decisions: decisions)
        try await self.database.transaction { connection in
            // A service account's client lock first, before the account's row: grants under its secret wait on it.
            try await ServiceClientStore.holdExclusively(accountID: id, on: connection)
            try await self.grants.confirm(ceiling, on: connection)
            _ = try await self.tokens.revokeAll(accountID: id, on: connection)
            try await self.clients.delete(accountID: id, on: connection)
            try await self.accounts.delete(id: id, on: connection)
            try await IdentityChanges.announce("account:\(id)", database: self.database, on: connection)
            try await self.publish("iam.user.deleted", account: account, requestID: requestID, on: connection)
        }
        self.cache.purge("account:\(id)")
    }

    /// Longest permission or role list an account may be given: a bounded body, a bounded check.
    static let maximumListLength = 100

    /// Lists over the limit and unknown permissions, listed with the other problems of a body (the grant
    /// rule checks the rest).
    private func listProblems(_ changes: Changes) -> [(String, String)] {
        var problems: [(String, String)] = []
        for (field, list) in [("permissions", changes.permissions), ("roles", changes.roles)] where (list?.count ?? 0) > Self.maximumListLength {
            problems.append(("TOO_MANY_ITEMS", "\(field) may list at most \(Self.maximumListLength) entries."))
        }
        guard problems.isEmpty else { return problems }
        let catalog = self.policies.current.catalog
        return (changes.permissions ?? []).filter { !catalog.contains($0) }.map { ("UNKNOWN_PERMISSION", "Unknown permission \($0).") }
    }

    private func status(_ text: String?, problems: inout [(String, String)]) throws -> AccountStatus? {
        guard let text else { return nil }
        guard let status = AccountStatus(caseInsensitive: text) else {
            problems.append(("INVALID_STATUS", "status must be ACTIVE or DISABLED."))
            return nil
        }
        return status
    }

    private func publish(_ name: String, account: Account, requestID: String?, on connection: any DatabaseConnection) async throws {
        let payload: JSONValue = [
            "id": .string(account.id), "username": .string(account.username), "tenant": account.tenant.map(JSONValue.string) ?? .null,
        ]
        try await self.bus.publish(
            try Event(name: name, serviceName: "iam", payload: payload, requestID: requestID, tenant: account.tenant, now: self.clock.now),
            on: connection)
    }
}

extension Optional {
    func asyncMap<T>(_ transform: (Wrapped) async throws -> T) async rethrows -> T? {
        guard let value = self else { return nil }
        return try await transform(value)
    }
}
