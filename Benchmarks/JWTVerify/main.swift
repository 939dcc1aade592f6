import Foundation
import IAM
import JWTKit

// J1 of `Benchmarks/run`: ES256 access-token verifications per second on one thread, through the same
// call the token verifier makes for every uncached token (`AccessTokenSignatures.verify`: jwt-kit's parser
// into `AccessTokenClaims`, the header checks, then the key's ES256 check of the signature: base64url,
// JSON, ECDSA P-256).
// Prints one line: `verifications_per_second <n>`.

let seconds = Double(CommandLine.arguments.dropFirst().first ?? "5") ?? 5
let key = ES256PrivateKey()
let keys = JWTKeyCollection()
await keys.add(ecdsa: key, kid: "bench")
let now = Date()
/// Signed in the shape the identity module issues; verified as the identity module reads it.
struct IssuedClaims: JWTPayload {
    var iss: IssuerClaim
    var aud: AudienceClaim
    var sub: SubjectClaim
    var exp: ExpirationClaim
    var nbf: NotBeforeClaim
    var iat: IssuedAtClaim
    var jti: IDClaim
    var tenant: String?
    func verify(using algorithm: some JWTAlgorithm) async throws {}
}
let claims = IssuedClaims(
    iss: "http://localhost:8080", aud: "portcullis", sub: "0c8e3a1b-bench", exp: .init(value: now.addingTimeInterval(900)),
    nbf: .init(value: now), iat: .init(value: now), jti: .init(value: UUID().uuidString), tenant: "acme")
var header = JWTHeader()
header.typ = "at+jwt"
header.alg = "ES256"
let token = try await keys.sign(claims, kid: "bench", header: header)
let signatures = AccessTokenSignatures(verifiers: ["bench": try await keys.getKey(for: "bench")])

var count = 0
let start = ContinuousClock.now
let end = start + .milliseconds(Int64(seconds * 1000))
while ContinuousClock.now < end {
    for _ in 0..<100 {
        guard case .verified = signatures.verify(token) else { fatalError("the benchmark's own token does not verify") }
    }
    count += 100
}
let elapsed = ContinuousClock.now - start
let perSecond = Double(count) / (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
print("verifications_per_second \(Int(perSecond))")
