public import Logging
import Synchronization

/// A log handler that keeps what is logged, for tests that check a log line.
///
/// A struct (log handlers are values in swift-log) whose lines live in one shared, locked box, so every
/// copy a `Logger` makes appends to the same list.
public struct CapturedLog: LogHandler, Sendable {
    public struct Line: Sendable {
        public let level: Logger.Level
        public let message: String
        public let metadata: [String: String]
    }

    private final class Lines: Sendable {
        let lines = Mutex<[Line]>([])
    }

    private let box = Lines()
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .trace

    public init() {}

    /// Everything logged so far, in order.
    public var lines: [Line] { self.box.lines.withLock { $0 } }

    /// A logger that writes here.
    public var logger: Logger {
        let handler = self
        return Logger(label: "tests") { _ in handler }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { self.metadata[key] }
        set { self.metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let line = Line(level: event.level, message: "\(event.message)", metadata: (event.metadata ?? [:]).mapValues { "\($0)" })
        self.box.lines.withLock { $0.append(line) }
    }
}
