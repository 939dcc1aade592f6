import Foundation
public import Logging
public import Messaging
public import Policy
public import PortcullisCore
import ServiceLifecycle
public import Storage

/// The identity module assembled over one database: key ring, verifier, issuer, login, stores, and the
/// cache-invalidation service that must run next to them.
public struct Identity: Sendable {
    public let policies: PolicySet
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
    let database: any Database
    let bus: any EventBus

    public init(
        database: any Database,
        configuration: GatewayConfiguration,
        policies: PolicySet,
        masterKey: MasterKey,
        bus: any EventBus,
        hasher: any PasswordHasher = BcryptPasswordHasher(),
        logger: Logger
    ) {
        let keyRing = KeyRing(database: database, masterKey: masterKey, tokenLifetime: configuration.accessTokenTTL, logger: logger)
        let cache = PrincipalCache()
        let issuer = TokenIssuer(
            keyRing: keyRing, database: database, issuer: configuration.publicURL, audience: configuration.tokenAudience,
            accessTokenTTL: configuration.accessTokenTTL
        )
        self.database = database
        self.bus = bus
        self.policies = policies
        self.keyRing = keyRing
        self.cache = cache
        self.verifier = TokenVerifier(
            keyRing: keyRing, database: database, cache: cache, issuer: configuration.publicURL, audience: configuration.tokenAudience
        )
        self.issuer = issuer
        self.hasher = hasher
        self.login = LoginService(
            database: database, hasher: hasher, throttle: LoginThrottle(database: database, policy: configuration.lockout), issuer: issuer,
            bus: bus, logger: logger
        )
        self.accounts = AccountStore(database: database)
        self.roles = RoleStore(database: database)
        self.tokens = TokenStore(database: database)
        self.changes = IdentityChanges(database: database, cache: cache)
    }

    /// Run after migrations: built-in roles from the policy files, the signing keys, the first admin.
    public func prepare(bootstrapAdmin: (username: String, password: String)?) async throws -> AdminBootstrap.Outcome {
        try await self.roles.syncBuiltIns(self.policies.builtInRoles)
        try await self.keyRing.start()
        return try await AdminBootstrap(database: self.database, hasher: self.hasher).ensureAdmin(configured: bootstrapAdmin)
    }

    /// Enables or disables an account. Its tokens stop (or start again) working on every replica at once:
    /// they are not revoked, the account status is checked at verification and the caches are purged.
    public func setStatus(_ status: AccountStatus, accountID: String) async throws {
        try await self.database.transaction { connection in
            guard var account = try await self.accounts.find(id: accountID, on: connection) else { return }
            account.status = status
            account.updatedAt = Date()
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
            account.updatedAt = Date()
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

    /// Revokes every token of a refresh family (reuse detection), everywhere.
    public func revokeFamily(_ familyID: String) async throws {
        try await self.database.transaction { connection in
            _ = try await self.tokens.revokeFamily(familyID, on: connection)
            try await IdentityChanges.announce("*", database: self.database, on: connection)
        }
        self.cache.purge("*")
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
