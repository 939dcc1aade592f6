import Foundation
import GatewayKit
import PortcullisCore

/// A JWT taken apart, for tests that forge and tamper.
struct JWTParts {
    var header: JSONValue
    var payload: JSONValue
    var signature: String

    init(_ token: String) throws {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        self.header = try JSONDecoder().decode(JSONValue.self, from: try Self.decode(parts[0]))
        self.payload = try JSONDecoder().decode(JSONValue.self, from: try Self.decode(parts[1]))
        self.signature = parts[2]
    }

    /// Header and payload re-encoded, with the signature as it is (which no longer matches).
    var token: String {
        "\(Self.encode(self.header)).\(Self.encode(self.payload)).\(self.signature)"
    }

    var signingInput: String {
        "\(Self.encode(self.header)).\(Self.encode(self.payload))"
    }

    static func encode(_ value: JSONValue) -> String {
        base64URL((try? JSONEncoder().encode(value)) ?? Data())
    }

    static func base64URL(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func decode(_ text: String) throws -> Data {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        guard let data = Data(base64Encoded: base64) else { throw CocoaError(.coderReadCorrupt) }
        return data
    }
}
