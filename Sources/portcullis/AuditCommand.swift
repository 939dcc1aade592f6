import ArgumentParser
import AuditLog
import Gateway
import PortcullisCore
import Storage

struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit", abstract: "Work with the audit log.", subcommands: [AuditVerify.self])
}

/// `portcullis audit verify`: walks the hash chain; exit 0 when intact, 1 with the first bad `seq`.
struct AuditVerify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Verify the audit log's hash chain: exit 0 when it is intact, 1 naming the first bad seq.",
        discussion: "Needs the same master key as the gateway (PORTCULLIS_MASTER_KEY, or the key file in the data directory)."
    )

    @OptionGroup var options: ConfigurationOptions

    func run() async throws {
        let configuration = try self.options.load()
        let logger = LoggingSetup.bootstrap(configuration)
        let masterKey = try Startup.masterKey(configuration)
        let database = try await Startup.openDatabase(configuration, logger: logger)
        let result = try await Startup.withRunning(database) {
            try await MigrationRunner(database: database, migrations: GatewayAssembly.migrations(), logger: logger).migrate()
            return try await AuditChain(database: database, key: masterKey.derived(for: AuditLog.keyPurpose)).verify()
        }
        if result.ok {
            Console.write("audit chain intact: \(result.records) records verified")
            return
        }
        Console.write(
            "audit chain broken at seq \(result.firstBadSeq.map(String.init) ?? "?"): \(result.problem ?? "unknown problem")"
                + " (\(result.records) records verified before it)")
        throw ExitCode(1)
    }
}
