public import Foundation
public import JWTKit
import Synchronization

/// The keys that verify access-token signatures, readable from any task without a hop to the key ring:
/// every uncached bearer token is verified here.
///
/// jwt-kit does the work: its parser splits and decodes the token, and the key's `JWTAlgorithm` checks the
/// ES256 signature over the token's own signing input. The ring hands over a key's verifier when it loads
/// the key, and a new set when it reloads (rotation on any replica).
public final class AccessTokenSignatures: Sendable {
    /// A token split and decoded, its signature not yet checked: nothing in it may be trusted before
    /// ``isValid(_:)`` says so.
    public struct Parsed: Sendable {
        public let header: JWTHeader
        public let claims: AccessTokenClaims
        let signature: Data
        let signingInput: ArraySlice<UInt8>
    }

    private let verifiers: Mutex<[String: any JWTAlgorithm]>

    /// - Parameter verifiers: a verifying algorithm (public key) per key id.
    public init(verifiers: [String: any JWTAlgorithm] = [:]) {
        self.verifiers = Mutex(verifiers)
    }

    func replace(with verifiers: [String: any JWTAlgorithm]) {
        self.verifiers.withLock { $0 = verifiers }
    }

    /// Whether a key with this id is loaded.
    public func knows(kid: String) -> Bool {
        self.verifiers.withLock { $0[kid] != nil }
    }

    /// Splits and decodes `token` (header and claims, by jwt-kit's parser) without checking anything.
    ///
    /// - Throws: when the token is not three base64url parts of JSON in the access-token shape.
    public func parse(_ token: String) throws -> Parsed {
        let bytes = Array(token.utf8)
        let (header, claims, signature) = try Self.parser.parse(bytes, as: AccessTokenClaims.self)
        // The parser accepted exactly three parts: the signing input is everything before the last dot.
        guard let dot = bytes.lastIndex(of: UInt8(ascii: ".")) else { throw JWTError.malformedToken(reason: "no signature") }
        return Parsed(header: header, claims: claims, signature: signature, signingInput: bytes[..<dot])
    }

    /// Whether the signature of `parsed` was made by the loaded key its header's `kid` names.
    public func isValid(_ parsed: Parsed) -> Bool {
        guard let kid = parsed.header.kid, let verifier = self.verifiers.withLock({ $0[kid] }) else { return false }
        return (try? verifier.verify(parsed.signature, signs: parsed.signingInput)) == true
    }

    private static let parser = DefaultJWTParser()
}
