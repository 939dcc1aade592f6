import Crypto
import Foundation
import PortcullisCore

/// The HMAC check of a webhook call: the header carries the HMAC of the raw body under the flow's
/// secret, in hex or base64, with SHA-256 unless the flow says SHA-384 or SHA-512. Compared in constant
/// time.
enum WebhookSignature {
    static func verify(_ signature: String?, body: Data, secret: String, algorithm: String) -> Bool {
        guard let signature = signature?.trimmingCharacters(in: .whitespaces), !signature.isEmpty else { return false }
        // Some senders prefix the algorithm (`sha256=...`).
        var value = signature
        for prefix in ["sha256=", "sha384=", "sha512="] where value.lowercased().hasPrefix(prefix) {
            value = String(value.dropFirst(prefix.count))
        }
        guard let given = Self.hex(value) ?? Data(base64Encoded: value).map(Array.init) else { return false }
        let key = SymmetricKey(data: Data(secret.utf8))
        // swift-crypto's check compares in constant time.
        switch algorithm.lowercased() {
        case "sha384": return HMAC<SHA384>.isValidAuthenticationCode(given, authenticating: body, using: key)
        case "sha512": return HMAC<SHA512>.isValidAuthenticationCode(given, authenticating: body, using: key)
        default: return HMAC<SHA256>.isValidAuthenticationCode(given, authenticating: body, using: key)
        }
    }

    static func hex(_ text: String) -> [UInt8]? {
        let characters = Array(text.utf8)
        guard characters.count % 2 == 0, !characters.isEmpty else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(characters.count / 2)
        var index = 0
        while index < characters.count {
            guard let high = Self.nibble(characters[index]), let low = Self.nibble(characters[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }

    static func nibble(_ character: UInt8) -> UInt8? {
        switch character {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): character - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): character - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): character - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
