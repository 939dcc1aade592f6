import ArgumentParser
import Logging
import PortcullisCore
import Storage

/// Steps shared by the subcommands.
enum Startup {
    /// Opens the configured database, or prints why not and exits with status 1.
    static func openDatabase(_ configuration: GatewayConfiguration, logger: Logger) async throws -> any Database {
        do {
            return try await DatabaseFactory.open(configuration.database, logger: logger)
        } catch {
            StandardError.write("portcullis: \(error)")
            throw ExitCode(1)
        }
    }

    /// Runs `database` as a service for the duration of `body`, then stops it.
    static func withRunning<Result: Sendable>(
        _ database: any Database,
        _ body: @Sendable () async throws -> Result
    ) async throws -> Result {
        do {
            return try await database.whileRunning(body)
        } catch {
            StandardError.write("portcullis: \(error)")
            throw ExitCode(1)
        }
    }
}
