import ArgumentParser
import AuditLog
import Foundation
import Gateway
import Hummingbird
import IAM
import Logging
import Messaging
import Policy
import PortcullisCore
import ServiceLifecycle
import Storage

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the gateway: migrate the database, prepare keys and the first admin, then serve HTTP until SIGTERM or SIGINT."
    )

    @OptionGroup var options: ConfigurationOptions

    func run() async throws {
        let configuration = try self.options.load()
        let logger = LoggingSetup.bootstrap(configuration)
        let policies = try Startup.loadPolicies(configuration)
        let masterKey = try Startup.masterKey(configuration)
        logger.info(
            "starting",
            metadata: [
                "database": .string(configuration.database.redactedDescription),
                "policies": .string(configuration.policiesDirectory),
                "issuer": .string(configuration.publicURL),
            ]
        )
        let database = try await Startup.openDatabase(configuration, logger: logger)
        let runner = MigrationRunner(database: database, migrations: Modules.migrations, logger: logger)
        let policyStore = PolicyStore(directory: configuration.policiesDirectory, initial: policies)
        let assembly = GatewayAssembly(
            configuration: configuration, database: database, policies: policyStore, masterKey: masterKey,
            // Password hashing on threads of its own, with a bounded queue: a login flood is shed, not queued.
            hasher: BcryptPasswordHasher(
                pool: PasswordHashingPool(threads: configuration.passwordHashThreads, queueLimit: configuration.passwordHashQueue)),
            checks: [DatabaseReadiness(database: database), MigrationReadiness(runner: runner)],
            logger: logger
        )
        let identity = assembly.identity
        let audit = assembly.audit

        let rotation = KeyRotation(keyRing: identity.keyRing, interval: configuration.keyRotationInterval, logger: logger)
        // The database first: services stop in reverse order, after the server has finished its requests.
        var services: [any Service] = [database] + assembly.services
        let supervisor = assembly.supervisor
        services += [
            supervisor.supervise(rotation, name: "key-rotation"),
            supervisor.supervise(
                PolicyReloader(store: policyStore, identity: identity, journal: assembly.journal, logger: logger), name: "policy-reloader"),
        ]
        if let retention = configuration.auditRetention {
            services.append(
                supervisor.supervise(AuditRetention(chain: assembly.audit.chain, retention: retention, logger: logger), name: "audit-retention"))
        }
        var application = assembly.gateway.buildApplication(services: services)
        application.beforeServerStarts {
            try await runner.migrate()
            // Bound before the first request: no decision record can be published while nobody listens.
            try await audit.bind()
            switch try await identity.prepare(bootstrapAdmin: configuration.bootstrapAdmin) {
            case .existing:
                break
            case .created(let username):
                logger.notice("created the first platform admin", metadata: ["username": .string(username)])
            case .generated(let username, let password):
                // Shown once, on the console, never in a log line: there is no default password.
                Console.write(
                    "portcullis: created the first platform admin '\(username)' with the generated password \(password)"
                        + " (shown only now; set PORTCULLIS_ADMIN_USERNAME and PORTCULLIS_ADMIN_PASSWORD to choose your own)"
                )
            }
        }
        let journal = assembly.journal
        ShutdownBound.watch(limit: configuration.shutdownTimeout, logger: logger) {
            let running = supervisor.snapshot.filter(\.value.running).keys.sorted()
            var parts = ["in-flight requests"]
            if !running.isEmpty { parts.append("services still running: \(running.joined(separator: ", "))") }
            parts.append("\(journal.waitingCount) decision records committing")
            parts.append("\(AbandonedWork.shared.running) abandoned database calls")
            return parts.joined(separator: "; ")
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
