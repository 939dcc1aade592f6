import ArgumentParser
import Gateway
import Logging
import PortcullisCore
import Storage

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Apply pending database migrations and exit (serve also does this at start-up)."
    )

    @OptionGroup var options: ConfigurationOptions

    func run() async throws {
        let configuration = try self.options.load()
        let logger = LoggingSetup.bootstrap(configuration)
        let database = try await Startup.openDatabase(configuration, logger: logger)
        let applied = try await Startup.withRunning(database) {
            try await MigrationRunner(database: database, migrations: GatewayAssembly.migrations(), logger: logger).migrate()
        }
        print(applied.isEmpty ? "database is up to date" : "applied \(applied.count) migration(s): \(applied.joined(separator: ", "))")
    }
}
