import ArgumentParser
import Foundation
import PortcullisCore

/// The flags every subcommand shares. Values stay strings here, so that one loader validates flags
/// and environment alike and names the setting that is wrong.
struct ConfigurationOptions: ParsableArguments {
    @Option(help: "Address to listen on (PORTCULLIS_HOST, default 127.0.0.1).")
    var host: String?

    @Option(help: "Port to listen on; 0 picks a free one (PORTCULLIS_PORT, default 8080).")
    var port: String?

    @Option(help: "Directory for the SQLite file and generated keys (PORTCULLIS_DATA_DIR, default ./data).")
    var dataDir: String?

    @Option(help: "postgres://user:pass@host:port/db, or ?host=/socket/dir (DATABASE_URL; unset = SQLite).")
    var databaseURL: String?

    @Option(help: "Directory of the policy files (PORTCULLIS_POLICIES, default ./policies).")
    var policies: String?

    @Option(help: "trace, debug, info, notice, warning, error or critical (PORTCULLIS_LOG_LEVEL, default info).")
    var logLevel: String?

    @Option(help: "text or json (PORTCULLIS_LOG_FORMAT, default text).")
    var logFormat: String?

    @Option(help: "Largest accepted request body in bytes (PORTCULLIS_MAX_BODY_BYTES, default 10485760).")
    var maxBodyBytes: String?

    /// The validated configuration, or one line on standard error and exit status 2.
    func load() throws -> GatewayConfiguration {
        var flags: [ConfigurationLoader.Setting: String] = [:]
        flags[.host] = self.host
        flags[.port] = self.port
        flags[.dataDirectory] = self.dataDir
        flags[.databaseURL] = self.databaseURL
        flags[.policies] = self.policies
        flags[.logLevel] = self.logLevel
        flags[.logFormat] = self.logFormat
        flags[.maxBodyBytes] = self.maxBodyBytes
        do {
            return try ConfigurationLoader(environment: ProcessInfo.processInfo.environment, flags: flags).load()
        } catch {
            Console.error("portcullis: \(error)")
            throw ExitCode(2)
        }
    }
}
