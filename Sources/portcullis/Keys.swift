import ArgumentParser
import Foundation
import Gateway
import IAM
import Logging
import PortcullisCore
import Storage

struct Keys: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage the token signing keys.",
        subcommands: [Rotate.self]
    )

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a new signing key now; running replicas pick it up within a minute.",
            discussion: """
                The new key is published in the JWKS at once and signs after --publish-ahead (default 1h, so that \
                clients caching the JWKS see it first; 0s to sign with it at once). Replaced keys stay in the JWKS \
                until every token they signed has expired.
                """
        )

        @OptionGroup var options: ConfigurationOptions

        @Option(help: "How long the new key is published before it signs (e.g. 0s, 10m, 1h).")
        var publishAhead: String = "1h"

        func run() async throws {
            let configuration = try self.options.load()
            let logger = LoggingSetup.bootstrap(configuration)
            let ahead: Duration
            if self.publishAhead == "0s" || self.publishAhead == "0" {
                ahead = .zero
            } else if let parsed = DurationText.parse(self.publishAhead) {
                ahead = parsed
            } else {
                Console.error("portcullis: invalid --publish-ahead: \"\(self.publishAhead)\" is not a duration (0s, 10m, 1h)")
                throw ExitCode(2)
            }
            let masterKey = try Startup.masterKey(configuration)
            let database = try await Startup.openDatabase(configuration, logger: logger)
            let kid = try await Startup.withRunning(database) {
                try await MigrationRunner(database: database, migrations: GatewayAssembly.migrations(), logger: logger).migrate()
                let ring = KeyRing(
                    database: database, masterKey: masterKey, tokenLifetime: configuration.accessTokenTTL, logger: logger, clock: .system)
                try await ring.refresh()
                return try await ring.rotate(publishAhead: ahead)
            }
            Console.write("created signing key \(kid)")
        }
    }
}
