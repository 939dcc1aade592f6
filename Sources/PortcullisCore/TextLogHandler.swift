import Foundation
public import Logging
import Synchronization

/// Writes each log entry as one line of text on standard output (`PORTCULLIS_LOG_FORMAT=text`, the default),
/// in the layout of swift-log's `StreamLogHandler`: `<ts> <level> <label>: <key=value ...> [<source>] <message>`.
///
/// Unlike `StreamLogHandler`, which formats its metadata again whenever a key is set, it formats only when
/// a line is written: every request sets its id on its logger, and most requests log nothing at the
/// configured level.
public struct TextLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let label: String

    public init(label: String, metadataProvider: Logger.MetadataProvider? = nil) {
        self.label = label
        self.metadataProvider = metadataProvider
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { self.metadata[key] }
        set { self.metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = self.metadata
        if let provided = self.metadataProvider?.get() {
            merged.merge(provided) { _, new in new }
        }
        if let explicit = event.metadata {
            merged.merge(explicit) { _, new in new }
        }
        let pairs = merged.keys.sorted().map { "\($0)=\(merged[$0]!)" }.joined(separator: " ")
        let line = "\(Timestamp.format(Date())) \(event.level) \(self.label):\(pairs.isEmpty ? "" : " " + pairs) [\(event.source)] \(event.message)\n"
        Self.outputLock.withLock { _ in
            // A failed write (a closed pipe, a full disk) loses the line, never the process.
            try? FileHandle.standardOutput.write(contentsOf: Data(line.utf8))
        }
    }

    /// Serialises writers so that lines from concurrent requests never interleave.
    private static let outputLock = Mutex(())
}
