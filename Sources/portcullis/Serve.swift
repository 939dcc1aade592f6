import ArgumentParser
import Foundation
import Gateway
import Hummingbird
import Logging
import Metrics
import Policy
import PortcullisCore
import Prometheus
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
        // swift-metrics goes to Prometheus: every figure the gateway counts is in GET /metrics.
        let metrics = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: metrics))
        let assembly: GatewayAssembly
        do {
            assembly = try GatewayAssembly(
                configuration: configuration, database: database,
                policies: PolicyStore(directory: configuration.policiesDirectory, initial: policies),
                masterKey: masterKey, metrics: metrics, logger: logger)
        } catch {
            Console.error("portcullis: \(error)")
            throw ExitCode(1)
        }
        let application = assembly.buildApplication()
        let supervisor = assembly.supervisor
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
            Console.error("portcullis: \(error)")
            throw ExitCode(1)
        }
        logger.notice("stopped")
    }
}
