import Foundation
public import Logging
import Synchronization

/// Writes each log entry as one line on standard output, as text (`PORTCULLIS_LOG_FORMAT=text`, the default)
/// or as one JSON object (`json`).
///
/// - Text: the layout of swift-log's `StreamLogHandler`, `<ts> <level> <label>: <key=value ...> [<source>] <message>`.
///   Unlike `StreamLogHandler`, which formats all of its metadata again whenever one key is set, nothing
///   is formatted until a line is written: every request sets its id on its logger, and most requests log
///   nothing at the configured level.
/// - JSON fields: `ts` (RFC 3339, UTC, milliseconds), `level`, `label`, `message`, `source`, then every metadata key.
///
/// Callers are responsible for never putting a secret into a message or metadata value.
public struct LineLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let label: String
    private let format: LogFormat

    public init(label: String, format: LogFormat, metadataProvider: Logger.MetadataProvider? = nil) {
        self.label = label
        self.format = format
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
        let timestamp = Timestamp.format(Date())
        switch self.format {
        case .text:
            let pairs = merged.keys.sorted().map { "\($0)=\(merged[$0]!)" }.joined(separator: " ")
            Self.write("\(timestamp) \(event.level) \(self.label):\(pairs.isEmpty ? "" : " " + pairs) [\(event.source)] \(event.message)\n")
        case .json:
            var output = "{\"ts\":\(Self.quote(timestamp))"
            output += ",\"level\":\(Self.quote(event.level.rawValue))"
            output += ",\"label\":\(Self.quote(self.label))"
            output += ",\"message\":\(Self.quote(event.message.description))"
            output += ",\"source\":\(Self.quote(event.source))"
            for key in merged.keys.sorted() where !["ts", "level", "label", "message", "source"].contains(key) {
                output += ",\(Self.quote(key)):\(Self.encode(merged[key]!))"
            }
            Self.write(output + "}\n")
        }
    }

    /// Serialises writers so that lines from concurrent requests never interleave.
    private static let outputLock = Mutex(())

    private static func write(_ line: String) {
        outputLock.withLock { _ in
            // A failed write (a closed pipe, a full disk) loses the line, never the process.
            try? FileHandle.standardOutput.write(contentsOf: Data(line.utf8))
        }
    }

    static func encode(_ value: Logger.Metadata.Value) -> String {
        switch value {
        case .string(let string): return quote(string)
        case .stringConvertible(let convertible): return quote(convertible.description)
        case .array(let values): return "[" + values.map(encode).joined(separator: ",") + "]"
        case .dictionary(let dictionary):
            return "{" + dictionary.keys.sorted().map { "\(quote($0)):\(encode(dictionary[$0]!))" }.joined(separator: ",") + "}"
        }
    }

    /// A JSON string literal for `string` (RFC 8259 §7 escaping).
    static func quote(_ string: String) -> String {
        var result = "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }
}
