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
    let environment: ModuleEnvironment

    public init(environment: ModuleEnvironment) {
        self.environment = environment
        self.identity = Identity(
            database: environment.database, configuration: environment.configuration, policies: environment.policies,
            masterKey: environment.masterKey, bus: environment.messaging.bus, hasher: environment.passwordHasher,
            clock: environment.clock, logger: environment.logger)
    }

    public func registerRoutes(on routes: RouteRegistry) {
        let identity = self.identity
        let configuration = self.environment.configuration
        let bus = self.environment.messaging.bus
        let accounts = AccountAdministration(identity: identity, passwordPolicy: configuration.passwordPolicy, bus: bus)
        let tokens = TokenAdministration(identity: identity, bus: bus)
        let serviceAccounts = ServiceAccounts(identity: identity, administration: accounts, masterKey: self.environment.masterKey)
        IdentityRoutes(identity: identity, configuration: configuration).register(on: routes)
        AccountRoutes(administration: accounts, identity: identity).register(on: routes)
        ServiceAccountRoutes(serviceAccounts: serviceAccounts).register(on: routes)
        TenantAndRoleRoutes(
            tenants: TenantAdministration(identity: identity, bus: bus), roles: RoleAdministration(identity: identity), accounts: accounts
        )
        .register(on: routes)
        TokenRoutes(tokens: tokens, accessTokenTTL: configuration.accessTokenTTL).register(on: routes)
        OAuthRoutes(oauth: OAuthService(identity: identity, serviceAccounts: serviceAccounts, bus: bus), tokens: tokens, identity: identity)
            .register(on: routes)
    }

    public var services: [ModuleService] {
        [
            ModuleService("identity-changes", self.identity.changes),
            ModuleService(
                "key-rotation",
                KeyRotation(
                    keyRing: self.identity.keyRing, interval: self.environment.configuration.keyRotationInterval, clock: self.environment.clock,
                    logger: self.environment.logger)),
        ]
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
