import Crypto
import Foundation

/// What a principal's permissions were when a decision was made: the granted permissions (account and
/// roles) and a token's narrowing, both sorted. A decision record keeps only its ``digest``; the audit log
/// keeps each distinct set once, under that digest, so that a decision can be replayed later against
/// other policy files (`portcullis policy diff`).
public struct PermissionSet: Sendable, Hashable {
    public let granted: [String]
    /// Nil: no narrowing.
    public let scope: [String]?

    /// `{"granted":[...],"scope":[...]}` (`"scope":null` without narrowing): what the digest covers.
    public let canonicalText: String
    /// The first 16 bytes of the SHA-256 of ``canonicalText``, as 32 hex digits.
    public let digest: String

    public init(granted: some Sequence<String>, scope: (some Sequence<String>)?) {
        self.granted = granted.sorted()
        self.scope = scope.map { $0.sorted() }
        self.canonicalText = Self.text(granted: self.granted, scope: self.scope)
        self.digest = Self.digest(of: self.canonicalText)
    }

    static func text(granted: [String], scope: [String]?) -> String {
        var json = CompactJSON(capacity: 64 + granted.count * 24)
        json.open()
        json.field("granted", strings: granted)
        json.field("scope", strings: scope)
        json.close()
        return json.text
    }

    static func digest(of text: String) -> String {
        let hex = Array("0123456789abcdef".utf8)
        var digits: [UInt8] = []
        digits.reserveCapacity(32)
        for byte in SHA256.hash(data: Data(text.utf8)).prefix(16) {
            digits.append(hex[Int(byte >> 4)])
            digits.append(hex[Int(byte & 0x0f)])
        }
        return String(decoding: digits, as: UTF8.self)
    }

    /// The set whose ``canonicalText`` is `text`; nil when it is not one.
    public init?(canonicalText text: String) {
        struct Stored: Decodable {
            let granted: [String]
            let scope: [String]?
        }
        guard let stored = try? JSONDecoder().decode(Stored.self, from: Data(text.utf8)) else { return nil }
        self.init(granted: stored.granted, scope: stored.scope)
    }
}
