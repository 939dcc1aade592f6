import Crypto
import Foundation
import PortcullisCore

/// Ids and secrets made by the identity module.
enum Identifiers {
    /// A 24-hex-character id, the shape of OIH's (MongoDB) ids.
    static func objectID() -> String {
        hex(randomBytes(12))
    }

    /// An opaque token of 256 random bits with a prefix that secret scanners can recognise:
    /// `pcs_` (persistent service token), `pcr_` (refresh token), `pcc_` (client secret).
    static func opaqueToken(prefix: String) -> String {
        prefix + base64URL(randomBytes(32))
    }

    /// The stored form of an opaque token: SHA-256, hex.
    static func tokenHash(_ token: String) -> String {
        SHA256.hash(data: Data(token.utf8)).withUnsafeBytes { Hex.encode(raw: $0) }
    }

    static func randomBytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
    }

    static func hex(_ bytes: some Sequence<UInt8>) -> String {
        Hex.encode(bytes)
    }

    static func base64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
