import Foundation
public import Logging
import Synchronization

/// Writes each log entry as one JSON object per line on standard output (`PORTCULLIS_LOG_FORMAT=json`).
///
/// Fields: `ts` (RFC 3339, UTC, milliseconds), `level`, `label`, `message`, `source`, then every metadata key.
/// Callers are responsible for never putting a secret into a message or metadata value.
public struct JSONLogHandler: LogHandler {
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
        self.write(level: event.level, message: event.message, metadata: event.metadata, source: event.source)
    }

    private func write(level: Logger.Level, message: Logger.Message, metadata explicit: Logger.Metadata?, source: String) {
        var merged = self.metadata
        if let provided = self.metadataProvider?.get() {
            merged.merge(provided) { _, new in new }
        }
        if let explicit {
            merged.merge(explicit) { _, new in new }
        }
        var output = "{\"ts\":\(Self.quote(Timestamp.format(Date())))"
        output += ",\"level\":\(Self.quote(level.rawValue))"
        output += ",\"label\":\(Self.quote(self.label))"
        output += ",\"message\":\(Self.quote(message.description))"
        output += ",\"source\":\(Self.quote(source))"
        for key in merged.keys.sorted() where !["ts", "level", "label", "message", "source"].contains(key) {
            output += ",\(Self.quote(key)):\(Self.encode(merged[key]!))"
        }
        output += "}\n"
        Self.write(output)
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
