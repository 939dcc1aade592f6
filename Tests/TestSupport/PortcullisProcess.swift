import Foundation
import Synchronization

/// The real `portcullis` binary, started as a child process for end-to-end tests.
///
/// Started with `PORTCULLIS_PORT=0` and JSON logs, it picks a free port and reports it in its
/// "portcullis listening" log line, which ``start(arguments:environment:)`` waits for.
public final class PortcullisProcess: Sendable {
    public let port: Int
    private let process: Process
    private let output: OutputBuffer

    public var baseURL: String { "http://127.0.0.1:\(self.port)" }

    /// Everything the process wrote to standard output and standard error so far.
    public var outputText: String { self.output.text }

    /// The built binary: `PORTCULLIS_BINARY` (set by scripts/test) or `.build/debug/portcullis`.
    public static func binaryPath() -> String {
        if let path = ProcessInfo.processInfo.environment["PORTCULLIS_BINARY"], !path.isEmpty {
            return path
        }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug/portcullis").path
    }

    /// Runs `portcullis <arguments>` to completion and returns its exit status and output.
    public static func run(
        arguments: [String],
        environment: [String: String],
        timeout: Duration = .seconds(60)
    ) async throws -> (status: Int32, output: String) {
        let (process, output) = try self.launch(arguments: arguments, environment: environment)
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            if ContinuousClock.now > deadline {
                process.terminate()
                throw TestEnvironmentError(description: "portcullis \(arguments.joined(separator: " ")) did not finish: \(output.text)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        try await Task.sleep(for: .milliseconds(50))  // let the pipe handlers drain the last bytes
        return (process.terminationStatus, output.text)
    }

    /// Starts `portcullis serve` and waits until it listens.
    public static func start(
        arguments: [String] = ["serve"],
        environment: [String: String],
        timeout: Duration = .seconds(60)
    ) async throws -> PortcullisProcess {
        var environment = environment
        environment["PORTCULLIS_PORT"] = environment["PORTCULLIS_PORT"] ?? "0"
        environment["PORTCULLIS_LOG_FORMAT"] = "json"
        let (process, output) = try self.launch(arguments: arguments, environment: environment)
        let deadline = ContinuousClock.now + timeout
        while true {
            if let port = output.listeningPort() {
                return PortcullisProcess(port: port, process: process, output: output)
            }
            if !process.isRunning || ContinuousClock.now > deadline {
                if process.isRunning { process.terminate() }
                throw TestEnvironmentError(description: "portcullis did not start listening: \(output.text)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    private init(port: Int, process: Process, output: OutputBuffer) {
        self.port = port
        self.process = process
        self.output = output
    }

    private static func launch(arguments: [String], environment: [String: String]) throws -> (Process, OutputBuffer) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: self.binaryPath())
        process.arguments = arguments
        // A clean environment: only what the test passes, plus PATH, so the developer's settings never leak in.
        var environment = environment
        environment["PATH"] = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        process.environment = environment
        let output = OutputBuffer()
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        pipe.fileHandleForReading.readabilityHandler = { handle in
            output.append(handle.availableData)
        }
        try process.run()
        return (process, output)
    }

    /// Sends `signal` (SIGTERM by default) and waits for the exit status.
    public func stop(signal: Int32? = nil, timeout: Duration = .seconds(30)) async throws -> Int32 {
        if self.process.isRunning {
            kill(self.process.processIdentifier, signal ?? SIGTERM)
        }
        let deadline = ContinuousClock.now + timeout
        while self.process.isRunning {
            if ContinuousClock.now > deadline {
                kill(self.process.processIdentifier, SIGKILL)
                throw TestEnvironmentError(description: "portcullis did not stop within \(timeout)")
            }
            try await Task.sleep(for: .milliseconds(20))
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

    func append(_ chunk: Data) {
        self.data.withLock { $0.append(chunk) }
    }

    var text: String {
        self.data.withLock { String(decoding: $0, as: UTF8.self) }
    }

    /// The port from the JSON log line `{"message":"portcullis listening",...,"port":"N"}`.
    func listeningPort() -> Int? {
        for line in self.text.split(separator: "\n") where line.contains("\"portcullis listening\"") {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                let port = (object["port"] as? String).flatMap(Int.init)
            else { continue }
            return port
        }
        return nil
    }
}
