import Foundation

/// The real `portcullis` binary, started as a child process for end-to-end tests.
///
/// Started with `PORTCULLIS_PORT=0` and JSON logs, it picks a free port and reports it in its
/// "portcullis listening" log line, which ``start(arguments:environment:timeout:)`` waits for.
public struct PortcullisProcess: Sendable {
    public let port: Int
    private let child: ChildProcess

    public var baseURL: String { "http://127.0.0.1:\(self.port)" }

    /// Everything the process wrote to standard output and standard error so far.
    public var outputText: String { self.child.outputText }

    /// The platform admin every test server starts with (unless a test overrides the variables).
    public static let adminUsername = "admin"
    public static let adminPassword = "test-admin-password-\(UUID().uuidString.prefix(8))"

    /// The repository's `policies/`, so that child processes do not depend on the working directory.
    public static let policiesDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("policies").path

    /// `environment` plus the defaults every test process gets unless the test says otherwise.
    static func withDefaults(_ environment: [String: String]) -> [String: String] {
        var environment = environment
        environment["PORTCULLIS_POLICIES"] = environment["PORTCULLIS_POLICIES"] ?? Self.policiesDirectory
        // The suite loads the machine: give decision records time to commit rather than answer 503.
        environment["PORTCULLIS_AUDIT_WRITE_TIMEOUT"] = environment["PORTCULLIS_AUDIT_WRITE_TIMEOUT"] ?? "60s"
        environment["PORTCULLIS_DATABASE_TIMEOUT"] = environment["PORTCULLIS_DATABASE_TIMEOUT"] ?? "60s"
        if environment["PORTCULLIS_ADMIN_USERNAME"] == nil && environment["PORTCULLIS_ADMIN_PASSWORD"] == nil {
            environment["PORTCULLIS_ADMIN_USERNAME"] = Self.adminUsername
            environment["PORTCULLIS_ADMIN_PASSWORD"] = Self.adminPassword
        }
        return environment
    }

    /// Runs `portcullis <arguments>` to completion and returns its exit status and output.
    public static func run(
        arguments: [String],
        environment: [String: String],
        timeout: Duration = .seconds(60)
    ) async throws -> (status: Int32, output: String) {
        let child = try ChildProcess("portcullis", arguments: arguments, environment: Self.withDefaults(environment))
        // A command starts no server that could keep its output open: its output is read to the end. On a
        // loaded machine the pipe's reader ran more than 5 s after the exit once, and the output was cut.
        let status = try await child.waitForExit(timeout: timeout, drain: .seconds(30))
        return (status, child.outputText)
    }

    /// Starts `portcullis serve` and waits until it listens.
    public static func start(
        arguments: [String] = ["serve"],
        environment: [String: String],
        timeout: Duration = .seconds(60)
    ) async throws -> PortcullisProcess {
        var environment = Self.withDefaults(environment)
        environment["PORTCULLIS_PORT"] = environment["PORTCULLIS_PORT"] ?? "0"
        environment["PORTCULLIS_LOG_FORMAT"] = "json"
        let child = try ChildProcess("portcullis", arguments: arguments, environment: environment)
        let port = try await child.waitFor(timeout: timeout, what: "its listening port", Self.listeningPort)
        return PortcullisProcess(port: port, child: child)
    }

    /// Sends `signal` (SIGHUP, say) without waiting for anything.
    public func send(signal: Int32) {
        self.child.send(signal: signal)
    }

    /// Sends `signal` (SIGTERM by default) and waits for the exit status.
    public func stop(signal: Int32? = nil, timeout: Duration = .seconds(30)) async throws -> Int32 {
        try await self.child.stop(signal: signal, timeout: timeout)
    }

    /// Kills the process at once (SIGKILL), as a crash would, and waits for it to be gone.
    public func crash() async throws {
        try await self.child.crash()
    }

    /// The port from the JSON log line `{"message":"portcullis listening",...,"port":"N"}`.
    static func listeningPort(in output: String) -> Int? {
        for line in output.split(separator: "\n") where line.contains("\"portcullis listening\"") {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                let port = (object["port"] as? String).flatMap(Int.init)
            else { continue }
            return port
        }
        return nil
    }
}
