public import AuditLog
public import IAM
public import Messaging
public import Policy
public import PortcullisCore

/// Every module's routes, composed once: `serve` and the tests register exactly the same set.
public enum ModuleRoutes {
    public static func register(
        on routes: RouteRegistry,
        configuration: GatewayConfiguration,
        identity: Identity,
        messaging: Messaging,
        audit: AuditLog,
        policies: PolicyStore,
        masterKey: MasterKey
    ) {
        let accounts = AccountAdministration(identity: identity, passwordPolicy: configuration.passwordPolicy, bus: messaging.bus)
        let tokens = TokenAdministration(identity: identity, bus: messaging.bus)
        let serviceAccounts = ServiceAccounts(identity: identity, administration: accounts, masterKey: masterKey)
        IdentityRoutes(identity: identity, configuration: configuration).register(on: routes)
        AccountRoutes(administration: accounts, identity: identity).register(on: routes)
        ServiceAccountRoutes(serviceAccounts: serviceAccounts).register(on: routes)
        TenantAndRoleRoutes(
            tenants: TenantAdministration(identity: identity, bus: messaging.bus), roles: RoleAdministration(identity: identity), accounts: accounts
        )
        .register(on: routes)
        TokenRoutes(tokens: tokens, accessTokenTTL: configuration.accessTokenTTL).register(on: routes)
        OAuthRoutes(oauth: OAuthService(identity: identity, serviceAccounts: serviceAccounts, bus: messaging.bus), tokens: tokens, identity: identity)
            .register(on: routes)
        DeadLetterRoutes(store: messaging.store).register(on: routes)
        AuditRoutes(chain: audit.chain, policies: policies).register(on: routes)
    }
}
