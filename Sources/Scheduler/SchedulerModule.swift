public import GatewayKit
import Messaging
public import Storage

/// The scheduler module: cron flows, fired exactly once per due time across replicas, and `/schedules`.
public struct SchedulerModule: GatewayModule {
    public static let name = "scheduler"
    public static let migrations = SchedulerMigrations.all

    public let schedules: Schedules
    public let runner: ScheduleRunner
    /// Built once: a second read must not make a second consumer or runner.
    public let services: [ModuleService]
    let environment: ModuleEnvironment

    public init(environment: ModuleEnvironment) {
        self.environment = environment
        let signals = environment.messaging.signals
        let schedules = Schedules(
            database: environment.database, clock: environment.clock, logger: environment.logger, changed: { ScheduleRunner.changed(signals) })
        let runner = ScheduleRunner(
            database: environment.database, queues: environment.messaging.queues, signals: signals, clock: environment.clock,
            logger: environment.logger)
        self.schedules = schedules
        self.runner = runner
        self.services = [
            ModuleService(
                "scheduler-consumer",
                Subscription(bus: environment.messaging.bus, group: Schedules.group, patterns: Schedules.patterns) { event, delivery in
                    try await schedules.handle(event, delivery)
                }),
            ModuleService("scheduler", runner),
        ]
    }

    public func registerRoutes(on routes: RouteRegistry) {
        ScheduleRoutes(database: self.environment.database, policies: self.environment.policies).register(on: routes)
    }

    /// Bound before the first request: no flow.starting is published while nobody listens.
    public func bind() async throws {
        try await self.environment.messaging.bus.bind(group: Schedules.group, patterns: Schedules.patterns)
    }
}
