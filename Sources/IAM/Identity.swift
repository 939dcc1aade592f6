public import Foundation
public import Logging
public import Messaging
public import Policy
public import PortcullisCore
import ServiceLifecycle
public import Storage

/// The identity module assembled over one database: key ring, verifier, issuer, login, stores, and the
/// cache-invalidation service that must run next to them.
public struct Identity: Sendable {
    /// The live policy set: a SIGHUP reload reaches every grant and resource check of IAM at once.
    public let policyStore: PolicyStore
    public let keyRing: KeyRing
    public let cache: PrincipalCache
    public let verifier: TokenVerifier
    public let issuer: TokenIssuer
    public let login: LoginService
    public let accounts: AccountStore
    public let roles: RoleStore
    public let tokens: TokenStore
    public let hasher: any PasswordHasher
    public let changes: IdentityChanges
    /// The time of day for every row this module writes.
    public let clock: WallClock
    let database: any Database
    let bus: any EventBus

    public init(
        database: any Database,
        configuration: GatewayConfiguration,
        policies: PolicyStore,
        masterKey: MasterKey,
        bus: any EventBus,
        hasher: any PasswordHasher,
        clock: WallClock,
        logger: Logger
    ) {
        let keyRing = KeyRing(database: database, masterKey: masterKey, tokenLifetime: configuration.accessTokenTTL, logger: logger, clock: clock)
        let cache = PrincipalCache()
        // Each store once, shared by every service that reads or writes its tables.
        let accounts = AccountStore(database: database)
        let roles = RoleStore(database: database, clock: clock)
        let tokens = TokenStore(database: database, clock: clock)
        let issuer = TokenIssuer(
            keyRing: keyRing, tokens: tokens, issuer: configuration.publicURL, audience: configuration.tokenAudience,
            accessTokenTTL: configuration.accessTokenTTL, sessionMax: configuration.sessionMax, clock: clock
        )
        self.database = database
        self.bus = bus
        self.clock = clock
        self.policyStore = policies
        self.keyRing = keyRing
        self.cache = cache
        self.verifier = TokenVerifier(
            keyRing: keyRing, tokens: tokens, accounts: accounts, roles: roles, cache: cache, issuer: configuration.publicURL,
            audience: configuration.tokenAudience, clock: clock
        )
        self.issuer = issuer
        self.hasher = hasher
        self.login = LoginService(
            database: database, hasher: hasher,
            throttle: LoginThrottle(database: database, policy: configuration.lockout, logger: logger, clock: clock),
            issuer: issuer, bus: bus, logger: logger
        )
        self.accounts = accounts
        self.roles = roles
        self.tokens = tokens
        self.changes = IdentityChanges(database: database, cache: cache)
    }

    /// The policy set in force now.
    public var policies: PolicySet { self.policyStore.current }

    /// The authorizer of the policy set in force now, stamping its revision on every decision.
    public var authorizer: Authorizer { self.policies.authorizer }

    /// Run after migrations: built-in roles from the policy files, the signing keys, the first admin.
    public func prepare(bootstrapAdmin: (username: String, password: String)?) async throws -> AdminBootstrap.Outcome {
        try await self.roles.syncBuiltIns(self.policies.builtInRoles)
        try await self.keyRing.start()
        return try await AdminBootstrap(database: self.database, accounts: self.accounts, hasher: self.hasher, clock: self.clock).ensureAdmin(
            configured: bootstrapAdmin)
    }

    /// What `account` effectively holds now: its own permissions and its roles'.
    public func effectivePermissions(of account: Account) async throws -> Set<String> {
        Set(account.permissions).union(try await self.roles.permissions(of: account.roles))
    }

    /// After a policy reload: the built-in roles take the new definitions, and every replica's cached
    /// permissions are dropped, so that the next request of every token resolves them anew.
    public func policiesReloaded() async throws {
        let database = self.database
        try await self.roles.syncBuiltIns(self.policies.builtInRoles)
        try await database.transaction { connection in
            try await IdentityChanges.announce("*", database: database, on: connection)
        }
        self.cache.purge("*")
    }

    /// Enables or disables an account. Its tokens stop (or start again) working on every replica at once:
    /// they are not revoked, the account status is checked at verification and the caches are purged.
    public func setStatus(_ status: AccountStatus, accountID: String) async throws {
        try await self.database.transaction { connection in
            guard var account = try await self.accounts.find(id: accountID, on: connection) else { return }
            account.status = status
            account.updatedAt = self.clock.now
            try await self.accounts.update(account, on: connection)
            try await IdentityChanges.announce("account:\(accountID)", database: self.database, on: connection)
        }
        // This replica forgets at once; the others as soon as the notification arrives.
        self.cache.purge("account:\(accountID)")
    }

    /// Changes an account's names (the caller's own profile).
    public func updateProfile(accountID: String, firstname: String?, lastname: String?) async throws -> Account? {
        try await self.database.transaction { connection in
            guard var account = try await self.accounts.find(id: accountID, on: connection) else { return nil }
            account.firstname = firstname ?? account.firstname
            account.lastname = lastname ?? account.lastname
            account.updatedAt = self.clock.now
            try await self.accounts.update(account, on: connection)
            return account
        }
    }

    /// Sets a new password and revokes every token of the account but `keeping` (the one in use).
    public func changePassword(accountID: String, to password: String, keeping: String?) async throws {
        let hash = try await self.hasher.hash(password)
        try await self.database.transaction { connection in
            try await self.accounts.setPasswordHash(hash, accountID: accountID, on: connection)
            _ = try await self.tokens.revokeAll(accountID: accountID, keeping: keeping, on: connection)
            try await IdentityChanges.announce("account:\(accountID)", database: self.database, on: connection)
        }
        self.cache.purge("account:\(accountID)")
    }

    /// Retires `tokenID` and issues its successor in one transaction, so that of two concurrent uses of one
    /// token exactly one gets a successor: the other finds it retired and gets nil. On PostgreSQL the loser
    /// waits for the winner's commit (row lock), so a family revoked after reuse also takes the successor.
    public func replace<Successor: Sendable>(
        tokenID: String, with issue: @Sendable (any DatabaseConnection) async throws -> Successor
    ) async throws -> Successor? {
        let database = self.database
        let issued: Successor? = try await database.transaction { connection in
            guard try await self.tokens.revoke(id: tokenID, on: connection) else { return nil }
            let issued = try await issue(connection)
            try await IdentityChanges.announce("token:\(tokenID)", database: database, on: connection)
            return issued
        }
        self.cache.purge("token:\(tokenID)")
        return issued
    }

    /// Ends a session: revokes the presented token (an `iam.token.revoked` event) and, when it belongs to a
    /// refresh family, the whole family (the refresh token included), so that nothing of the login keeps working.
    public func logout(tokenID: String) async throws {
        let family = try await self.tokens.find(id: tokenID)?.familyID
        try await self.revoke(tokenID: tokenID)
        if let family { try await self.revokeFamily(family) }
    }

    /// Revokes every token of a refresh family (reuse detection, logout), everywhere: each revoked token is
    /// purged from every replica's cache by its id, and nothing else is.
    public func revokeFamily(_ familyID: String) async throws {
        let database = self.database
        let revoked = try await database.transaction { connection in
            let ids = try await self.tokens.revokeFamily(familyID, on: connection)
            for id in ids {
                try await IdentityChanges.announce("token:\(id)", database: database, on: connection)
            }
            return ids
        }
        for id in revoked { self.cache.purge("token:\(id)") }
    }

    /// Revokes one token everywhere: marks it revoked and purges it from every replica's cache on commit.
    /// Returns false when it was unknown or revoked already.
    @discardableResult
    public func revoke(tokenID: String) async throws -> Bool {
        let revoked = try await self.database.transaction { connection in
            guard let entry = try await self.tokens.find(id: tokenID, on: connection), try await self.tokens.revoke(id: tokenID, on: connection)
            else { return false }
            try await IdentityChanges.announce("token:\(tokenID)", database: self.database, on: connection)
            // In the same transaction: the event exists exactly when the revocation does.
            let payload: JSONValue = ["id": .string(tokenID), "accountId": .string(entry.record.accountId)]
            try await self.bus.publish(try Event(name: "iam.token.revoked", serviceName: "iam", payload: payload), on: connection)
            return true
        }
        self.cache.purge("token:\(tokenID)")
        return revoked
    }
}
