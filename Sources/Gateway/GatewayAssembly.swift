public import Foundation
public import GatewayKit
public import Hummingbird
import IAM
public import Logging
public import Messaging
public import Policy
public import PortcullisCore
public import Prometheus
public import ServiceLifecycle
public import Storage

/// The whole gateway over one database: the shared infrastructure (bus, decision journal, health,
/// supervisor, housekeeping), every module of the list, and every route, composed once, so that `serve`,
/// `migrate` and the tests run exactly the same thing, start-up steps included.
///
/// ```swift
/// let assembly = try GatewayAssembly(configuration: configuration, database: database, policies: store, masterKey: key, logger: logger)
/// try await assembly.buildApplication().runService()   // migrates and prepares before the first request
/// ```
public struct GatewayAssembly: Sendable {
    public let configuration: GatewayConfiguration
    public let database: any Database
    public let environment: ModuleEnvironment
    public let modules: [any GatewayModule]
    public let journal: DecisionJournal
    /// What `GET /metrics` exposes: the registry `serve` bootstraps swift-metrics with (tests get a fresh one).
    public let metrics: PrometheusCollectorRegistry
    public let migrations: MigrationRunner
    /// Restarts a background service that stops by itself; ``ServicesReadiness`` reports it meanwhile.
    public let supervisor: Supervisor
    /// The services that must run next to the HTTP server (the database itself not included), each under
    /// the ``supervisor``.
    public let services: [any Service]
    /// What `/health/ready` checks: the infrastructure's and every module's.
    public let readinessChecks: [any ReadinessCheck]
    let access: AccessMiddleware

    public var messaging: Messaging { self.environment.messaging }
    public var policies: PolicyStore { self.environment.policies }

    /// Every migration of the infrastructure and of `modules`, in the order they apply.
    public static func migrations(of modules: [any GatewayModule.Type] = Modules.all) -> [Migration] {
        MessagingMigrations.all + modules.flatMap { $0.migrations }
    }

    /// - Parameters:
    ///   - modules: the modules to compose; tests add their own after ``Modules/all``.
    ///   - passwordHasher: nil for bcrypt on a bounded pool sized by the configuration; tests pass a cheap one.
    ///   - console: where lines for the operator go (a generated first password), outside the log.
    public init(
        configuration: GatewayConfiguration,
        database: any Database,
        policies: PolicyStore,
        masterKey: MasterKey,
        modules moduleTypes: [any GatewayModule.Type] = Modules.all,
        clock: WallClock = .system,
        passwordHasher: (any PasswordHasher)? = nil,
        console: @escaping @Sendable (String) -> Void = { Console.write($0) },
        metrics: PrometheusCollectorRegistry = PrometheusCollectorRegistry(),
        logger: Logger
    ) throws {
        let messaging = Messaging(
            database: database, retry: RetryPolicy(maxAttempts: configuration.queueMaxAttempts), clock: clock, logger: logger)
        // Password hashing on threads of its own, with a bounded queue: a login flood is shed, not queued.
        let hasher =
            passwordHasher
            ?? BcryptPasswordHasher(
                pool: PasswordHashingPool(threads: configuration.passwordHashThreads, queueLimit: configuration.passwordHashQueue))
        let environment = ModuleEnvironment(
            configuration: configuration, database: database, messaging: messaging, policies: policies, masterKey: masterKey, clock: clock,
            passwordHasher: hasher, console: console, logger: logger)
        let modules = try moduleTypes.map { try $0.init(environment: environment) }
        let authenticators = modules.compactMap(\.authenticator)
        guard authenticators.count == 1, let authenticator = authenticators.first else {
            throw AssemblyError(description: "exactly one module must verify bearer tokens; \(authenticators.count) do")
        }
        let decisionLogs = modules.compactMap(\.decisionLog)
        guard decisionLogs.count == 1, let decisionLog = decisionLogs.first else {
            throw AssemblyError(description: "exactly one module must keep decision records; \(decisionLogs.count) do")
        }
        let journal = DecisionJournal(log: decisionLog, timeout: configuration.auditWriteTimeout, logger: logger)
        let runner = MigrationRunner(database: database, migrations: Self.migrations(of: moduleTypes), logger: logger)
        let supervisor = Supervisor(logger: logger)
        let checks: [any ReadinessCheck] =
            [
                // Every check that asks the database gets the database's deadline (PORTCULLIS_DATABASE_TIMEOUT).
                DatabaseReadiness(database: database, timeout: configuration.databaseTimeout),
                MigrationReadiness(runner: runner, timeout: configuration.databaseTimeout),
                BusReadiness(store: messaging.store, clock: clock, timeout: configuration.databaseTimeout),
                AuditReadiness(
                    journal: journal, store: messaging.store, clock: clock, maxLag: configuration.auditMaxLag, timeout: configuration.databaseTimeout),
                PolicyReadiness(policies: policies), ServicesReadiness(supervisor: supervisor),
            ] + modules.flatMap(\.readinessChecks)
        let names = checks.map(\.name)
        guard Set(names).count == names.count else {
            throw AssemblyError(description: "readiness checks must have unique names: \(names.sorted())")
        }
        let reloader = PolicyReloader(
            store: policies,
            reloaded: {
                for module in modules { try await module.policiesReloaded() }
            }, bus: messaging.bus, clock: clock, logger: logger)
        let core: [ModuleService] = [
            ModuleService("bus-wake-ups", messaging.wakeUps),
            ModuleService("decision-journal", journal),
            ModuleService("housekeeping", Housekeeping(messages: messaging.store, modules: modules, clock: clock, logger: logger).job()),
            ModuleService("policy-reloader", reloader),
        ]
        self.configuration = configuration
        self.database = database
        self.environment = environment
        self.modules = modules
        self.journal = journal
        self.metrics = metrics
        self.migrations = runner
        self.supervisor = supervisor
        self.readinessChecks = checks
        self.access = AccessMiddleware(step: AccessStep(authenticator: authenticator), policies: policies, journal: journal, clock: clock)
        self.services = (core + modules.flatMap(\.services)).map { supervisor.supervise($0.service, name: $0.name) }
    }

    /// The start-up steps, in order: migrations, then every module's `bind()` (its bus groups), then every
    /// module's `prepare()` (sync rows from the policy files, create the first admin). `serve` runs them before it accepts the first request.
    public func prepare() async throws {
        try await Self.prepare(migrations: self.migrations, modules: self.modules)
    }

    static func prepare(migrations: MigrationRunner, modules: [any GatewayModule]) async throws {
        try await migrations.migrate()
        for module in modules {
            try await module.bind()
        }
        for module in modules {
            try await module.prepare()
        }
    }

    /// The module of type `Module` in this assembly, for tests and commands that reach into one.
    public func module<Module: GatewayModule>(_ type: Module.Type) -> Module? {
        self.modules.lazy.compactMap { $0 as? Module }.first
    }

    /// The gateway's router with every route registered: health, then each module's, in list order.
    public func makeGateway() -> GatewayBuilder {
        let gateway = GatewayBuilder(configuration: self.configuration, access: self.access, logger: self.environment.logger)
        let transitions = ReadinessTransitions(logger: self.environment.logger)
        HealthRoutes(checks: self.readinessChecks, policies: self.policies, transitions: transitions).register(on: gateway.routes)
        MetricsRoute(
            registry: self.metrics, store: self.environment.messaging.store, clock: self.environment.clock,
            timeout: self.configuration.databaseTimeout
        ).register(on: gateway.routes)
        for module in self.modules {
            module.registerRoutes(on: gateway.routes)
        }
        return gateway
    }

    /// The HTTP application: prepares (``prepare()``) before the server starts, then serves with the
    /// database and every service running next to it. The database comes first: services stop in reverse
    /// order, after the server has finished its requests.
    public func buildApplication(onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> Application<
        RouterResponder<GatewayRequestContext>
    > {
        var application = self.makeGateway().buildApplication(services: [self.database] + self.services, onServerRunning: onServerRunning)
        application.beforeServerStarts { [migrations, modules] in
            try await Self.prepare(migrations: migrations, modules: modules)
        }
        return application
    }
}
