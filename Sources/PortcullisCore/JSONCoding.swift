import Foundation

/// The one JSON encoding of stored values (message bodies, lists in text columns): compact, keys sorted,
/// slashes unescaped.
public enum JSONCoding {
    public static func string(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    public static func decode<Value: Decodable>(_ type: Value.Type, from string: String) throws -> Value {
        try JSONDecoder().decode(Value.self, from: Data(string.utf8))
    }
}
