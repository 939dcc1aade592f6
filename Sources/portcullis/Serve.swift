import ArgumentParser
import Gateway
import Hummingbird
import Logging
import Messaging
import PortcullisCore
import ServiceLifecycle
import Storage

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the gateway: migrate the database, then serve HTTP until SIGTERM or SIGINT."
    )

    @OptionGroup var options: ConfigurationOptions

    func run() async throws {
        let configuration = try self.options.load()
        let logger = LoggingSetup.bootstrap(configuration)
        logger.info(
            "starting",
            metadata: [
                "database": .string(configuration.database.redactedDescription),
                "policies": .string(configuration.policiesDirectory),
            ]
        )
        let database = try await Startup.openDatabase(configuration, logger: logger)
        let runner = MigrationRunner(database: database, migrations: Modules.migrations, logger: logger)
        let messaging = Messaging(database: database, logger: logger)

        let gateway = GatewayBuilder(configuration: configuration, logger: logger)
        HealthRoutes(checks: [
            DatabaseReadiness(database: database),
            MigrationReadiness(runner: runner),
            BusReadiness(store: messaging.store),
        ]).register(on: gateway.routes)

        var application = gateway.buildApplication(services: [database, messaging.wakeUps])
        application.beforeServerStarts {
            try await runner.migrate()
        }
        do {
            try await application.runService()
        } catch {
            logger.critical("stopped on error", metadata: ["error": "\(error)"])
            StandardError.write("portcullis: \(error)")
            throw ExitCode(1)
        }
        logger.notice("stopped")
    }
}
