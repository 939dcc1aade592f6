import Foundation
import Synchronization

/// A PostgreSQL cluster of a test's own, which the test may crash and start again: fault tests must not
/// stop the cluster the rest of the suite shares.
///
/// Made with the PostgreSQL programs `scripts/test` finds (`PORTCULLIS_TEST_PG_BIN`), run as the
/// unprivileged `postgres` user when the tests run as root, as `scripts/test` does for its own cluster.
/// Listens on a Unix socket in its own directory only, with trust authentication for local connections.
///
/// The server runs in the foreground as the test's child (what `pg_ctl start` runs in the background):
/// Foundation's `Process` cannot tell that `pg_ctl start` has exited while the server it leaves behind
/// holds the descriptors it inherited, so `pg_ctl` is used only to stop the server.
///
/// ```swift
/// let cluster = try await ThrowawayCluster.start()
/// defer { cluster.destroy() }
/// try await cluster.crash()      // pg_ctl stop -m immediate
/// try await cluster.restart()    // postgres, as pg_ctl start runs it
/// ```
public final class ThrowawayCluster: Sendable {
    let bin: URL
    let directory: String
    let port: Int
    private let server = Mutex<ChildProcess?>(nil)

    /// The cluster's `postgres` database over its Unix socket.
    public var url: String { "postgres://portcullis@localhost:\(self.port)/postgres?host=\(self.directory)" }

    private init(bin: URL, directory: String, port: Int) {
        self.bin = bin
        self.directory = directory
        self.port = port
    }

    /// Creates the cluster (initdb) and starts it.
    public static func start() async throws -> ThrowawayCluster {
        guard let bin = ProcessInfo.processInfo.environment["PORTCULLIS_TEST_PG_BIN"], !bin.isEmpty else {
            throw TestEnvironmentError(
                description: "PORTCULLIS_TEST_PG_BIN is not set: run the suite with scripts/test, which finds the PostgreSQL programs")
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("portcullis-pg-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        // The socket directory must be reachable by the test process; the data directory belongs to the server.
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: directory)
        let cluster = ThrowawayCluster(bin: URL(fileURLWithPath: bin), directory: directory, port: Int.random(in: 20_000...60_000))
        if getuid() == 0 {
            try await cluster.runChecked("/usr/bin/chown", ["postgres", directory], asPostgres: false)
        }
        try await cluster.runChecked(
            "initdb", ["-D", "\(directory)/data", "-U", "portcullis", "--auth-local=trust", "-E", "UTF8", "--no-sync"], timeout: .seconds(120))
        try await cluster.restart()
        return cluster
    }

    /// Starts the server and waits until it accepts connections.
    public func restart() async throws {
        let arguments = [
            "-D", "\(self.directory)/data", "-k", self.directory, "-p", "\(self.port)", "-c", "listen_addresses=", "-c", "max_connections=200",
            "-c", "fsync=off", "-c", "full_page_writes=off",
        ]
        let server = try self.child("postgres", arguments)
        self.server.withLock { $0 = server }
        try await server.waitForOutput("ready to accept connections", timeout: .seconds(90))
    }

    /// `pg_ctl stop -m immediate`: every server process ends at once, as in a crash; the next start recovers.
    public func crash() async throws {
        try await self.runChecked("pg_ctl", ["-D", "\(self.directory)/data", "-m", "immediate", "-w", "stop"], timeout: .seconds(60))
    }

    /// Stops the cluster (if it runs) and removes its files.
    public func destroy() async {
        _ = try? await self.run("pg_ctl", ["-D", "\(self.directory)/data", "-m", "immediate", "-w", "stop"], timeout: .seconds(60))
        _ = try? await self.server.withLock { $0 }?.stop(signal: SIGKILL, timeout: .seconds(10))
        try? FileManager.default.removeItem(atPath: self.directory)
    }

    /// The server's own log, for a failing test's message.
    public var serverLog: String {
        self.server.withLock { $0 }?.outputText ?? ""
    }

    private func runChecked(_ program: String, _ arguments: [String], asPostgres: Bool = true, timeout: Duration = .seconds(60)) async throws {
        let (status, output) = try await self.run(program, arguments, asPostgres: asPostgres, timeout: timeout)
        guard status == 0 else {
            throw TestEnvironmentError(description: "\(program) \(arguments.joined(separator: " ")) failed with status \(status): \(output)")
        }
    }

    private func run(_ program: String, _ arguments: [String], asPostgres: Bool = true, timeout: Duration) async throws -> (Int32, String) {
        let child = try self.child(program, arguments, asPostgres: asPostgres)
        let status = try await child.waitForExit(timeout: timeout)
        return (status, child.outputText)
    }

    private func child(_ program: String, _ arguments: [String], asPostgres: Bool = true) throws -> ChildProcess {
        let executable = program.hasPrefix("/") ? program : self.bin.appendingPathComponent(program).path
        if asPostgres && getuid() == 0 {
            // PostgreSQL refuses to run as root.
            return try ChildProcess(
                executableURL: URL(fileURLWithPath: "/usr/sbin/runuser"), arguments: ["-u", "postgres", "--", executable] + arguments)
        }
        return try ChildProcess(executableURL: URL(fileURLWithPath: executable), arguments: arguments)
    }
}
