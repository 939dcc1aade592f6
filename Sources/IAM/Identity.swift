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
    public let clients: ServiceClientStore
    public let tenants: TenantStore
    public let hasher: any PasswordHasher
    public let changes: IdentityChanges
    public let sessions: Sessions
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
        let cache = PrincipalCache(ttl: Double(configuration.tokenCacheTTL.components.seconds))
        // Each store once, shared by every service that reads or writes its tables.
        let tenants = TenantStore(database: database)
        let accounts = AccountStore(database: database, tenants: tenants)
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
            accounts: accounts, hasher: hasher,
            throttle: LoginThrottle(database: database, policy: configuration.lockout, logger: logger, clock: clock),
            issuer: issuer, bus: bus, clock: clock, logger: logger
        )
        self.accounts = accounts
        self.roles = roles
        self.tokens = tokens
        self.clients = ServiceClientStore(database: database, clock: clock)
        self.tenants = tenants
        self.sessions = Sessions(database: database, accounts: accounts, tokens: tokens, cache: cache, hasher: hasher, bus: bus, clock: clock)
        self.changes = IdentityChanges(database: database, cache: cache)
    }

    /// The policy set in force now.
    public var policies: PolicySet { self.policyStore.current }

    /// Run after migrations: built-in roles from the policy files, the signing keys, the first admin.
    public func prepare(bootstrapAdmin: (username: String, password: String)?) async throws -> AdminBootstrap.Outcome {
        try await self.roles.syncBuiltIns(self.policies.builtInRoles)
        try await self.keyRing.start()
        return try await AdminBootstrap(database: self.database, accounts: self.accounts, hasher: self.hasher, clock: self.clock).ensureAdmin(
            configured: bootstrapAdmin)
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
}
