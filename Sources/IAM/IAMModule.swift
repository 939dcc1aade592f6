public import Foundation
public import GatewayKit
import Logging
import Messaging
import PortcullisCore

/// The identity module: login and tokens, accounts, tenants and roles, service accounts, OAuth, and the
/// bearer-token verification the gateway's access step relies on.
public struct IAMModule: GatewayModule {
    public static let name = "iam"
    public static let migrations = IAMMigrations.all

    public let identity: Identity
    public let accountAdministration: AccountAdministration
    public let tokenAdministration: TokenAdministration
    public let serviceAccounts: ServiceAccounts
    public let tenantAdministration: TenantAdministration
    public let roleAdministration: RoleAdministration
    public let oauth: OAuthService
    /// Built once: a second read must not make a second listener or rotation job.
    public let services: [ModuleService]
    let environment: ModuleEnvironment

    public init(environment: ModuleEnvironment) throws {
        self.environment = environment
        let identity = Identity(
            database: environment.database, configuration: environment.configuration, policies: environment.policies,
            masterKey: environment.masterKey, bus: environment.messaging.bus, hasher: environment.passwordHasher,
            clock: environment.clock, logger: environment.logger)
        self.identity = identity
        try environment.capabilities.provide((any AccountDirectory).self, StoreAccountDirectory(accounts: identity.accounts))
        // The composition root of the module: each service gets the stores and parts it uses, nothing more.
        let configuration = environment.configuration
        let bus = environment.messaging.bus
        let (database, policies, clock) = (identity.database, identity.policyStore, identity.clock)
        let grants = GrantChecks(accounts: identity.accounts, roles: identity.roles, policies: policies)
        let accounts = AccountAdministration(
            database: database, accounts: identity.accounts, tenants: identity.tenants, roles: identity.roles, tokens: identity.tokens,
            clients: identity.clients,
            cache: identity.cache, hasher: identity.hasher, policies: policies, grants: grants, passwordPolicy: configuration.passwordPolicy,
            bus: bus,
            clock: clock)
        let tokens = TokenAdministration(
            database: database, accounts: identity.accounts, tokens: identity.tokens, clients: identity.clients, issuer: identity.issuer,
            verifier: identity.verifier, sessions: identity.sessions, policies: policies, grants: grants, bus: bus, clock: clock)
        let serviceAccounts = ServiceAccounts(
            database: database, accounts: identity.accounts, tokens: identity.tokens, clients: identity.clients, cache: identity.cache,
            administration: accounts, masterKey: environment.masterKey)
        let tenants = TenantAdministration(
            database: database, store: identity.tenants, accounts: identity.accounts, tokens: identity.tokens, cache: identity.cache,
            policies: policies, bus: bus, clock: clock)
        let roles = RoleAdministration(database: database, roles: identity.roles, cache: identity.cache, policies: policies, grants: grants)
        let oauth = OAuthService(
            accounts: identity.accounts, roles: identity.roles, tokens: identity.tokens, issuer: identity.issuer, verifier: identity.verifier,
            login: identity.login, sessions: identity.sessions, policies: policies, serviceAccounts: serviceAccounts, administration: tokens,
            bus: bus,
            clock: clock
        )
        try environment.capabilities.provide(
            (any FlowCredentials).self,
            FlowTokenAccounts(
                database: database, accounts: identity.accounts, tenants: identity.tenants, tokens: identity.tokens, clients: identity.clients,
                serviceAccounts: serviceAccounts, clock: clock))
        self.accountAdministration = accounts
        self.tokenAdministration = tokens
        self.serviceAccounts = serviceAccounts
        self.tenantAdministration = tenants
        self.roleAdministration = roles
        self.oauth = oauth
        self.services = [
            ModuleService("identity-changes", identity.changes),
            ModuleService(
                "key-rotation",
                KeyRotation(keyRing: identity.keyRing, interval: configuration.keyRotationInterval, clock: clock, logger: environment.logger)),
        ]
    }

    public func registerRoutes(on routes: RouteRegistry) {
        let identity = self.identity
        let configuration = self.environment.configuration
        let policies = identity.policyStore
        let accounts = self.accountAdministration
        let tokens = self.tokenAdministration
        IdentityRoutes(
            login: identity.login, sessions: identity.sessions, accounts: identity.accounts, keyRing: identity.keyRing, configuration: configuration
        )
        .register(on: routes)
        AccountRoutes(administration: accounts, login: identity.login, sessions: identity.sessions, policies: policies).register(on: routes)
        ServiceAccountRoutes(serviceAccounts: self.serviceAccounts).register(on: routes)
        TenantAndRoleRoutes(tenants: self.tenantAdministration, roles: self.roleAdministration, accounts: accounts).register(on: routes)
        TokenRoutes(tokens: tokens, accessTokenTTL: configuration.accessTokenTTL).register(on: routes)
        OAuthRoutes(oauth: self.oauth, tokens: tokens, policies: policies).register(on: routes)
    }

    /// Built-in roles from the policy files, the signing keys, and the first platform admin.
    public func prepare() async throws {
        switch try await self.identity.prepare(bootstrapAdmin: self.environment.configuration.bootstrapAdmin) {
        case .existing:
            break
        case .created(let username):
            self.environment.logger.notice("created the first platform admin", metadata: ["username": .string(username)])
        case .generated(let username, let password):
            // Shown once, on the console, never in a log line: there is no default password.
            self.environment.console(
                "portcullis: created the first platform admin '\(username)' with the generated password \(password)"
                    + " (shown only now; set PORTCULLIS_ADMIN_USERNAME and PORTCULLIS_ADMIN_PASSWORD to choose your own)")
        }
    }

    /// Token rows that can never be accepted again: expired, or persistent and revoked, a day ago or more.
    public func prune(now: Date) async throws -> [String: Int] {
        ["tokens": try await self.identity.tokens.prune(before: now.addingTimeInterval(-Double(Self.tokenGrace.components.seconds)))]
    }

    /// How long an expired or revoked token's row is kept (for an operator's "why was this refused?").
    public static let tokenGrace: Duration = .seconds(86_400)

    public func policiesReloaded() async throws {
        try await self.identity.policiesReloaded()
    }

    public var authenticator: (any BearerAuthenticator)? { self.identity.verifier }
}

extension TokenVerifier: BearerAuthenticator {}
