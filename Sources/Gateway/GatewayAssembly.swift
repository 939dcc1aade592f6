public import AuditLog
public import Foundation
public import IAM
public import Logging
public import Messaging
public import Policy
public import PortcullisCore
public import ServiceLifecycle
public import Storage

/// The whole gateway over one database: every module, the decision pipeline and every route, composed
/// once, so that `serve` and the tests run exactly the same thing.
///
/// ```swift
/// let assembly = GatewayAssembly(configuration: configuration, database: database, policies: store, masterKey: key, logger: logger)
/// var application = assembly.gateway.buildApplication(services: [database] + assembly.services)
/// ```
public struct GatewayAssembly {
    public let gateway: GatewayBuilder
    public let identity: Identity
    public let messaging: Messaging
    public let audit: AuditLog
    public let journal: DecisionJournal
    public let policies: PolicyStore
    /// Restarts a background service that stops by itself; ``ServicesReadiness`` reports it meanwhile.
    public let supervisor: Supervisor
    /// The services that must run next to the HTTP server (the database itself not included), each under
    /// the ``supervisor``.
    public let services: [any Service]

    /// - Parameter checks: readiness checks besides the bus, the audit pipeline and the policy set, which are always reported.
    public init(
        configuration: GatewayConfiguration,
        database: any Database,
        policies: PolicyStore,
        masterKey: MasterKey,
        hasher: any PasswordHasher = BcryptPasswordHasher(),
        checks: [any ReadinessCheck] = [],
        now: @escaping @Sendable () -> Date = { Date() },
        logger: Logger
    ) {
        let supervisor = Supervisor(logger: logger)
        let messaging = Messaging(database: database, logger: logger)
        let identity = Identity(
            database: database, configuration: configuration, policies: policies, masterKey: masterKey, bus: messaging.bus, hasher: hasher,
            now: now, logger: logger
        )
        let journal = DecisionJournal(bus: messaging.bus, timeout: configuration.auditWriteTimeout, logger: logger)
        let audit = AuditLog(database: database, key: masterKey.derived(for: AuditLog.keyPurpose), bus: messaging.bus, logger: logger)
        let gateway = GatewayBuilder(
            configuration: configuration, security: .init(verifier: identity.verifier, policies: policies, journal: journal), logger: logger
        )
        HealthRoutes(
            checks: checks + [
                BusReadiness(store: messaging.store), AuditReadiness(journal: journal, store: messaging.store, maxLag: configuration.auditMaxLag),
                PolicyReadiness(policies: policies), ServicesReadiness(supervisor: supervisor),
            ],
            policies: policies
        )
        .register(on: gateway.routes)
        ModuleRoutes.register(
            on: gateway.routes, configuration: configuration, identity: identity, messaging: messaging, audit: audit, policies: policies,
            masterKey: masterKey
        )
        self.gateway = gateway
        self.identity = identity
        self.messaging = messaging
        self.audit = audit
        self.journal = journal
        self.policies = policies
        self.supervisor = supervisor
        self.services = [
            supervisor.supervise(messaging.wakeUps, name: "bus-wake-ups"),
            supervisor.supervise(identity.changes, name: "identity-changes"),
            supervisor.supervise(journal, name: "decision-journal"),
            supervisor.supervise(audit.consumer(), name: "audit-consumer"),
            supervisor.supervise(Housekeeping.job(tokens: identity.tokens, messages: messaging.store, logger: logger), name: "housekeeping"),
        ]
    }

}
