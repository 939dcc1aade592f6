public import GatewayKit
import Messaging
import PortcullisCore

/// The audit log: the chain, its consumer on the bus, retention, and `/logs`.
public struct AuditModule: GatewayModule {
    public static let name = "audit"
    public static let migrations = AuditMigrations.all

    public let audit: AuditLog
    /// Built once: a second read must not make a second consumer.
    public let services: [ModuleService]
    let environment: ModuleEnvironment

    public init(environment: ModuleEnvironment) {
        self.environment = environment
        self.audit = AuditLog(
            database: environment.database, key: environment.masterKey.derived(for: AuditLog.keyPurpose), bus: environment.messaging.bus,
            logger: environment.logger)
        var services = [ModuleService("audit-consumer", self.audit.consumer())]
        if let retention = environment.configuration.auditRetention {
            services.append(
                ModuleService(
                    "audit-retention",
                    AuditRetention(chain: self.audit.chain, retention: retention, clock: environment.clock, logger: environment.logger)))
        }
        self.services = services
    }

    public func registerRoutes(on routes: RouteRegistry) {
        AuditRoutes(chain: self.audit.chain, policies: self.environment.policies, clock: self.environment.clock).register(on: routes)
        PolicyDiffRoutes(database: self.environment.database, clock: self.environment.clock).register(on: routes)
    }

    /// The gateway's decision records go straight into the chain, in the journal's group commit.
    public var decisionLog: (any DecisionLog)? { self.audit.chain }

    /// Bound before any module prepares and before the first request: no audit event can be published
    /// while nobody listens.
    public func bind() async throws {
        try await self.audit.bind()
    }
}
