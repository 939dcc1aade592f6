import Foundation

/// The one JSON encoding of stored message bodies: compact, keys sorted, slashes unescaped.
enum JSONCoding {
    static func string(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    static func decode<Value: Decodable>(_ type: Value.Type, from string: String) throws -> Value {
        try JSONDecoder().decode(Value.self, from: Data(string.utf8))
    }
}
