public import GatewayKit
import Messaging
public import Storage

/// The webhooks module: `/hook/{flowId}` and the bus group that keeps its view of the flows.
public struct WebhookModule: GatewayModule {
    public static let name = "webhooks"
    public static let migrations = WebhookMigrations.all

    public let flows: WebhookFlows
    /// Built once: a second read must not make a second consumer.
    public let services: [ModuleService]
    let environment: ModuleEnvironment

    public init(environment: ModuleEnvironment) {
        self.environment = environment
        let flows = WebhookFlows(database: environment.database, logger: environment.logger)
        self.flows = flows
        self.services = [
            ModuleService(
                "webhooks-consumer",
                Subscription(bus: environment.messaging.bus, group: WebhookFlows.group, patterns: WebhookFlows.patterns) { event, delivery in
                    try await flows.handle(event, delivery)
                })
        ]
    }

    public func registerRoutes(on routes: RouteRegistry) {
        WebhookRoutes(
            flows: self.flows, database: self.environment.database, queues: self.environment.messaging.queues,
            sealer: WebhookSecretSealer(masterKey: self.environment.masterKey),
            policies: self.environment.policies
        ).register(on: routes)
    }

    /// Bound before the first request: no flow.starting is published while nobody listens.
    public func bind() async throws {
        try await self.environment.messaging.bus.bind(group: WebhookFlows.group, patterns: WebhookFlows.patterns)
    }
}
