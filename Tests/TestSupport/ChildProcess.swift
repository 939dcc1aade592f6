public import Foundation
import Synchronization

/// A child process of a test, with its combined output captured.
public final class ChildProcess: Sendable {
    /// Serialises `Process.run` across the test process.
    static let launches = Mutex<Void>(())
    private let process: Process
    private let output: OutputBuffer

    /// Everything written to standard output and standard error so far.
    public var outputText: String { self.output.text }
    public var isRunning: Bool { self.process.isRunning }

    /// The directory of the built products: where `PORTCULLIS_BINARY` lives, or `.build/debug`.
    static func binaryDirectory() -> URL {
        if let path = ProcessInfo.processInfo.environment["PORTCULLIS_BINARY"], !path.isEmpty {
            return URL(fileURLWithPath: path).deletingLastPathComponent()
        }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug")
    }

    /// Starts `executable` (a product name in ``binaryDirectory()``) with only `environment` plus PATH, so
    /// the developer's own settings never leak in.
    public convenience init(_ executable: String, arguments: [String], environment: [String: String] = [:]) throws {
        try self.init(executableURL: Self.binaryDirectory().appendingPathComponent(executable), arguments: arguments, environment: environment)
    }

    /// Starts the program at `executableURL` with only `environment` plus PATH.
    public init(executableURL: URL, arguments: [String], environment: [String: String] = [:]) throws {
        let process = Process()
        process.executableURL = executableURL
        process.arguments = arguments
        var environment = environment
        environment["PATH"] = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        process.environment = environment
        let output = OutputBuffer()
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        pipe.fileHandleForReading.readabilityHandler = { handle in
            let chunk = handle.availableData
            if chunk.isEmpty {
                output.finish()
                handle.readabilityHandler = nil
            } else {
                output.append(chunk)
            }
        }
        // One launch at a time: Foundation's Process.run on Linux crashed once (a memcpy past a buffer while
        // preparing the launch) with end-to-end tests starting servers side by side.
        try Self.launches.withLock { _ in try process.run() }
        self.process = process
        self.output = output
    }

    /// Waits until the output contains `text`; throws when the process exits first or `timeout` passes.
    public func waitForOutput(_ text: String, timeout: Duration = .seconds(60)) async throws {
        _ = try await self.waitFor(timeout: timeout, what: "'\(text)'") { $0.contains(text) ? () : nil }
    }

    /// Polls the output with `extract` until it yields a value.
    public func waitFor<Value>(timeout: Duration, what: String, _ extract: (String) -> Value?) async throws -> Value {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let value = extract(self.output.text) {
                return value
            }
            if !self.process.isRunning || ContinuousClock.now > deadline {
                if self.process.isRunning { kill(self.process.processIdentifier, SIGKILL) }
                throw TestEnvironmentError(
                    description: "\(self.process.executableURL?.lastPathComponent ?? "process") never printed \(what): \(self.output.text)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Sends `signal` and returns at once.
    public func send(signal: Int32) {
        if self.process.isRunning {
            kill(self.process.processIdentifier, signal)
        }
    }

    /// Sends `signal` (SIGTERM by default) and waits for the exit status.
    @discardableResult
    public func stop(signal: Int32? = nil, timeout: Duration = .seconds(30)) async throws -> Int32 {
        if self.process.isRunning {
            kill(self.process.processIdentifier, signal ?? SIGTERM)
        }
        return try await self.waitForExit(timeout: timeout)
    }

    /// Kills the process at once, as a crash would: no graceful shutdown, no cleanup.
    public func crash() async throws {
        try await self.stop(signal: SIGKILL)
    }

    /// The exit status of `pid` when it has exited and is waiting to be reaped (a zombie); nil otherwise.
    static func reapIfExited(_ pid: Int32) -> Int32? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let afterName = stat.range(of: ") "), stat[afterName.upperBound...].hasPrefix("Z")
        else { return nil }
        var status: Int32 = 0
        guard waitpid(pid, &status, WNOHANG) == pid else { return nil }
        // WIFEXITED / WEXITSTATUS, else the signal number as the shell reports it (128 + n).
        return status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }

    /// Waits for the process to end and returns its exit status.
    /// - Parameter drain: how long to wait after the exit for the pipe's last bytes (until end of file): a
    ///   grandchild that keeps the pipe open holds it that long.
    public func waitForExit(timeout: Duration = .seconds(60), drain: Duration = .seconds(5)) async throws -> Int32 {
        let deadline = ContinuousClock.now + timeout
        while self.process.isRunning {
            if ContinuousClock.now > deadline {
                // Foundation learns of a child's exit from its own SIGCHLD monitoring; should that report be
                // missed, the child is a zombie: reap it here and report its real status.
                if let status = Self.reapIfExited(self.process.processIdentifier) {
                    print("note: process \(self.process.processIdentifier) had exited (status \(status)) but Foundation had not noticed")
                    return status
                }
                kill(self.process.processIdentifier, SIGKILL)
                throw TestEnvironmentError(description: "process did not exit within \(timeout): \(self.output.text)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        // Let the pipe handler drain the last bytes: until end of file, or a moment when a grandchild (a
        // server the child started) keeps the pipe open.
        let drained = ContinuousClock.now + drain
        while !self.output.isFinished && ContinuousClock.now < drained {
            try await Task.sleep(for: .milliseconds(10))
        }
        return self.process.terminationStatus
    }

    /// Kills the process if a test left it running.
    deinit {
        if self.process.isRunning {
            kill(self.process.processIdentifier, SIGKILL)
        }
    }
}

/// Collects a child's output from the pipe's handler thread.
final class OutputBuffer: Sendable {
    private let data = Mutex(Data())
    private let finished = Atomic<Bool>(false)

    func append(_ chunk: Data) {
        self.data.withLock { $0.append(chunk) }
    }

    /// The pipe reached end of file: everything written is here.
    func finish() {
        self.finished.store(true, ordering: .releasing)
    }

    var isFinished: Bool { self.finished.load(ordering: .acquiring) }

    var text: String {
        self.data.withLock { String(decoding: $0, as: UTF8.self) }
    }
}
