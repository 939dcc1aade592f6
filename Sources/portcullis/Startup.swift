import ArgumentParser
import Logging
import Policy
import PortcullisCore
import Storage

/// Steps shared by the subcommands.
enum Startup {
    /// The policy files, or one line naming the file and entry at fault and exit status 2.
    static func loadPolicies(_ configuration: GatewayConfiguration) throws -> PolicySet {
        do {
            return try PolicySet.load(directory: configuration.policiesDirectory)
        } catch {
            Console.error("portcullis: invalid policies: \(error)")
            throw ExitCode(2)
        }
    }

    /// `PORTCULLIS_MASTER_KEY`, or (SQLite only) the key file in the data directory, created when absent.
    static func masterKey(_ configuration: GatewayConfiguration) throws -> MasterKey {
        if let key = configuration.masterKey {
            return key
        }
        do {
            return try MasterKey.loadOrCreate(dataDirectory: configuration.dataDirectory)
        } catch {
            Console.error("portcullis: invalid master key file: \(error)")
            throw ExitCode(2)
        }
    }

    /// Opens the configured database, or prints why not and exits with status 1.
    static func openDatabase(_ configuration: GatewayConfiguration, logger: Logger) async throws -> any Database {
        do {
            return try await DatabaseFactory.open(
                configuration.database, leaseTimeout: configuration.databaseTimeout, statementTimeout: configuration.statementTimeout,
                logger: logger)
        } catch {
            Console.error("portcullis: \(error)")
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
            Console.error("portcullis: \(error)")
            throw ExitCode(1)
        }
    }
}
