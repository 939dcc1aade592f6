import Foundation
public import JWTKit
import Synchronization

/// The keys that verify access tokens, usable from any task without a hop to the key ring: every
/// uncached bearer token is verified here.
///
/// jwt-kit does the work: its parser splits and decodes the token once, and the key's `JWTAlgorithm`
/// checks the ES256 signature over the token's own signing input. The ring hands over a key's verifier
/// when it loads the key, and a new set when it reloads (a rotation on any replica). Claims come out only
/// once the signature checks out; their own checks (issuer, audience, times, revocation) are the caller's.
public final class AccessTokenSignatures: Sendable {
    /// What verifying a token found.
    public enum Verification: Sendable {
        /// Signed by a loaded key, as an access token: the claims may be checked now.
        case verified(AccessTokenClaims)
        /// Well-formed, naming a key that is not loaded (perhaps one another replica has just made).
        case unknownKey(String)
        /// Refused, with the reason (for logs, never for the caller).
        case refused(String)
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

    /// Parses `token` with jwt-kit, checks its header (ES256, a key id, `typ: at+jwt`) and its signature.
    public func verify(_ token: String) -> Verification {
        let bytes = Array(token.utf8)
        let header: JWTHeader
        let claims: AccessTokenClaims
        let signature: Data
        do {
            (header, claims, signature) = try Self.parser.parse(bytes, as: AccessTokenClaims.self)
        } catch {
            return .refused("unreadable")
        }
        guard header.alg == KeyRing.algorithm else { return .refused("algorithm not allowed") }
        guard let kid = header.kid, !kid.isEmpty else { return .refused("no key id") }
        guard header.typ?.lowercased() == "at+jwt" || header.typ?.lowercased() == "application/at+jwt" else {
            return .refused("not an access token")
        }
        guard let verifier = self.verifiers.withLock({ $0[kid] }) else { return .unknownKey(kid) }
        // The parser accepted exactly three parts: the signing input is everything before the last dot.
        guard let dot = bytes.lastIndex(of: UInt8(ascii: ".")), (try? verifier.verify(signature, signs: bytes[..<dot])) == true else {
            return .refused("bad signature")
        }
        return .verified(claims)
    }

    private static let parser = DefaultJWTParser(jsonDecoder: HeaderMemoizingDecoder())
}
