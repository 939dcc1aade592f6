public import GatewayKit
import Messaging
import PortcullisCore
public import Storage

/// The flow repository as a gateway module: `/flows`, and the bus group that applies the orchestrator's
/// answers and IAM's deletions.
public struct FlowModule: GatewayModule {
    public static let name = "flows"
    public static let migrations = FlowMigrations.all

    public let store: FlowStore
    public let commands: FlowCommands
    public let control: FlowControl
    /// Built once: a second read must not make a second consumer.
    public let services: [ModuleService]
    let access: FlowAccess
    let environment: ModuleEnvironment

    public init(environment: ModuleEnvironment) {
        self.environment = environment
        let capabilities = environment.capabilities
        let store = FlowStore(database: environment.database)
        let access = FlowAccess(policies: environment.policies, store: store)
        let announcer = FlowAnnouncer(bus: environment.messaging.bus, clock: environment.clock)
        self.store = store
        self.access = access
        self.commands = FlowCommands(
            database: environment.database, store: store, access: access, announcer: announcer,
            sealer: WebhookSecretSealer(masterKey: environment.masterKey), directory: { try capabilities.require((any AccountDirectory).self) },
            clock: environment.clock, logger: environment.logger)
        let control = FlowControl(
            database: environment.database, store: store, access: access, announcer: announcer,
            credentials: { try capabilities.require((any FlowCredentials).self) }, clock: environment.clock, logger: environment.logger)
        self.control = control
        let handlers = FlowEventHandlers(store: store, control: control, announcer: announcer, logger: environment.logger)
        self.services = [
            ModuleService("flow-cache-invalidation", FlowChanges(database: environment.database, cache: store.cache)),
            ModuleService(
                "flow-repository-consumer",
                Subscription(bus: environment.messaging.bus, group: FlowEventHandlers.group, patterns: FlowEventHandlers.patterns) {
                    event, delivery in try await handlers.handle(event, delivery)
                }),
        ]
    }

    public func registerRoutes(on routes: RouteRegistry) {
        FlowRoutes(
            store: self.store, access: self.access, commands: self.commands, control: self.control,
            stepLog: FlowStepLog(messages: self.environment.messaging.store, access: self.access)
        ).register(on: routes)
    }

    /// Bound before the first request: no answer of the orchestrator and no deletion in IAM is missed.
    public func bind() async throws {
        try await self.environment.messaging.bus.bind(group: FlowEventHandlers.group, patterns: FlowEventHandlers.patterns)
    }

    /// The composition must provide what flows need of other modules: fail at start-up, not per request.
    public func prepare() async throws {
        _ = try self.environment.capabilities.require((any AccountDirectory).self)
        _ = try self.environment.capabilities.require((any FlowCredentials).self)
    }
}
