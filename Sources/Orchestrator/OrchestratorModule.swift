public import GatewayKit
import Messaging
public import Storage

/// The orchestrator as a gateway module: one bus group, and the flow queue API over the queues it provisions.
public struct OrchestratorModule: GatewayModule {
    public static let name = "orchestrator"
    public static let migrations = OrchestratorMigrations.all

    public let orchestrator: Orchestrator
    /// Built once: a second read must not make a second consumer.
    public let services: [ModuleService]
    let environment: ModuleEnvironment

    public init(environment: ModuleEnvironment) {
        self.environment = environment
        let capabilities = environment.capabilities
        let options = ConsumerOptions()
        let orchestrator = Orchestrator(
            database: environment.database, messaging: environment.messaging,
            credentials: { try capabilities.require((any FlowCredentials).self) }, retry: options.retry, clock: environment.clock,
            logger: environment.logger)
        self.orchestrator = orchestrator
        self.services = [
            ModuleService(
                "orchestrator-consumer",
                Subscription(bus: environment.messaging.bus, group: Orchestrator.group, patterns: Orchestrator.patterns, options: options) {
                    event, delivery in try await orchestrator.handle(event, delivery)
                })
        ]
    }

    /// The flow queue API: components lease, settle and emit the messages of their step.
    public func registerRoutes(on routes: RouteRegistry) {
        FlowQueueRoutes(
            access: FlowQueueAccess(database: self.environment.database, policies: self.environment.policies),
            queues: self.environment.messaging.queues, database: self.environment.database
        ).register(on: routes)
    }

    /// Bound before any request can start a flow: no `flow.starting` is published while nobody listens.
    public func bind() async throws {
        try await self.environment.messaging.bus.bind(group: Orchestrator.group, patterns: Orchestrator.patterns)
    }

    /// The composition must give the orchestrator flow credentials: fail at start-up, not at the first start.
    public func prepare() async throws {
        _ = try self.environment.capabilities.require((any FlowCredentials).self)
    }
}
