public import GatewayKit
import Messaging
public import Storage

/// Operators' administration of the bus's dead letters: list, replay, purge.
public struct DeadLetterModule: GatewayModule {
    public static let name = "dead-letters"
    public static let migrations: [Migration] = []

    let environment: ModuleEnvironment

    public init(environment: ModuleEnvironment) {
        self.environment = environment
    }

    public func registerRoutes(on routes: RouteRegistry) {
        DeadLetterRoutes(store: self.environment.messaging.store).register(on: routes)
    }
}
