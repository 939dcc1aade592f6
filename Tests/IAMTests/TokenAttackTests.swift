import Crypto
import Foundation
import GatewayKit
import GatewayTestSupport
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import JWTKit
import PortcullisCore
import Storage
import TestSupport
import Testing

@testable import IAM

/// Forged and tampered tokens. Each forgery starts from a real token (so its row exists and its account is
/// active) and breaks exactly one thing, so that each 401 proves the check it names.
@Suite("JWT attacks")
struct TokenAttackTests {
    /// Any JSON as a JWT payload, so that tests can sign claims the product would never write.
    struct RawClaims: JWTPayload {
        let value: JSONValue
        init(_ value: JSONValue) { self.value = value }
        init(from decoder: any Decoder) throws { self.value = try JSONValue(from: decoder) }
        func encode(to encoder: any Encoder) throws { try self.value.encode(to: encoder) }
        func verify(using algorithm: some JWTAlgorithm) async throws {}
    }

    /// Signs `parts` with the ring's current private key through JWTKit, with the header as given
    /// (`kid` and `typ` included or left out exactly as `parts.header` has them).
    static func resign(_ parts: JWTParts, env: IdentityEnvironment) async throws -> String {
        let key = try #require(await env.identity.keyRing.signingKey())
        let collection = JWTKeyCollection()
        await collection.add(ecdsa: key.privateKey)
        var header = JWTHeader()
        if case .object(let fields) = parts.header {
            for (name, value) in fields {
                if let text = value.stringValue { header.fields[name] = .string(text) }
            }
        }
        return try await collection.sign(RawClaims(parts.payload), header: header)
    }

    static func expectRejected(_ token: String, env: IdentityEnvironment, _ comment: Comment) async throws {
        let response = try await env.get("/api/v1/users/me", token: token)
        #expect(response.status == .unauthorized, comment)
        #expect(response.errorReason == "INVALID_TOKEN", comment)
        #expect(response.headers[.wwwAuthenticate] == "Bearer", comment)
    }

    @Test("a re-signed copy of a valid token is accepted (the forging helper is sound)", arguments: Backend.allCases)
    func controlCase(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let parts = try JWTParts(try await env.adminToken())
            let token = try await Self.resign(parts, env: env)
            do {
                _ = try await env.identity.verifier.verify(token)
            } catch {
                Issue.record("re-signed token refused: \(error)")
            }
            #expect(try await env.get("/api/v1/users/me", token: token).status == .ok)
        }
    }

    @Test("header attacks: alg none, HS256 with the public key, missing kid, unknown kid, wrong typ", arguments: Backend.allCases)
    func headerAttacks(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let valid = try JWTParts(try await env.adminToken())

            var none = valid
            none.header = ["alg": "none", "typ": "at+jwt", "kid": valid.header["kid"]!]
            none.signature = ""
            try await Self.expectRejected(none.token, env: env, "alg none")

            // The classic confusion: HMAC keyed with the public key, which anyone can fetch from the JWKS.
            var hmac = valid
            hmac.header = ["alg": "HS256", "typ": "at+jwt", "kid": valid.header["kid"]!]
            let key = try #require(await env.identity.keyRing.signingKey())
            let publicPEM = key.rawKey.publicKey.pemRepresentation
            let mac = HMAC<SHA256>.authenticationCode(for: Data(hmac.signingInput.utf8), using: SymmetricKey(data: Data(publicPEM.utf8)))
            hmac.signature = JWTParts.base64URL(Data(mac))
            try await Self.expectRejected(hmac.token, env: env, "HS256 keyed with the public key")

            var noKid = valid
            noKid.header = ["alg": "ES256", "typ": "at+jwt"]
            try await Self.expectRejected(try await Self.resign(noKid, env: env), env: env, "missing kid")

            var unknownKid = valid
            unknownKid.header = ["alg": "ES256", "typ": "at+jwt", "kid": "not-a-key-of-ours"]
            try await Self.expectRejected(try await Self.resign(unknownKid, env: env), env: env, "unknown kid")

            var idToken = valid
            idToken.header = ["alg": "ES256", "typ": "JWT", "kid": valid.header["kid"]!]
            try await Self.expectRejected(try await Self.resign(idToken, env: env), env: env, "typ JWT (an ID token)")
        }
    }

    @Test("claim attacks: expired, not yet valid, wrong or malformed audience, malformed expiry, wrong issuer", arguments: Backend.allCases)
    func claimAttacks(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let valid = try JWTParts(try await env.adminToken())
            let now = Date().timeIntervalSince1970
            let cases: [(String, JSONValue, String)] = [
                ("exp", .double(now - 3600), "expired an hour ago"),
                ("nbf", .double(now + 3600), "not valid for another hour"),
                ("aud", ["someone-else"], "wrong audience"),
                ("aud", "someone-else", "wrong audience as one string"),
                ("aud", .int(7), "an audience that is not a string"),
                ("aud", [], "no audience at all"),
                ("exp", .string("\(Int(now) + 3600)"), "an expiry written as a string"),
                ("iss", "https://evil.example", "wrong issuer"),
            ]
            for (claim, value, comment) in cases {
                var forged = valid
                var payload = try #require(forged.payload.objectValue)
                payload[claim] = value
                forged.payload = .object(payload)
                try await Self.expectRejected(try await Self.resign(forged, env: env), env: env, Comment(rawValue: comment))
            }
        }
    }

    @Test("expiry within the 60-second leeway is still accepted", arguments: Backend.allCases)
    func leeway(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            var parts = try JWTParts(try await env.adminToken())
            var payload = try #require(parts.payload.objectValue)
            payload["exp"] = .double(Date().timeIntervalSince1970 - 20)
            parts.payload = .object(payload)
            #expect(try await env.get("/api/v1/users/me", token: try await Self.resign(parts, env: env)).status == .ok)
        }
    }

    @Test("signature attacks: stripped, all zeros, tampered payload", arguments: Backend.allCases)
    func signatureAttacks(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let token = try await env.adminToken()
            let valid = try JWTParts(token)

            var stripped = valid
            stripped.signature = ""
            try await Self.expectRejected(stripped.token, env: env, "stripped signature")

            var zeros = valid
            zeros.signature = JWTParts.base64URL(Data(repeating: 0, count: 64))
            try await Self.expectRejected(zeros.token, env: env, "ECDSA signature of zeros")

            var tampered = valid
            var payload = try #require(tampered.payload.objectValue)
            payload["tenant"] = "someone-elses-tenant"
            tampered.payload = .object(payload)
            try await Self.expectRejected(tampered.token, env: env, "tampered payload, original signature")
        }
    }

    @Test("malformed credentials are 401", arguments: Backend.allCases)
    func malformed(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            for authorization in ["Basic YWRtaW46cGFzc3dvcmQ=", "Bearer ", "Bearer", "bearer x.y", "Bearer not-a-token", "Bearer a.b.c"] {
                let response = try await env.get("/api/v1/users/me", authorization: authorization)
                #expect(response.status == .unauthorized, "\(authorization)")
                #expect(response.errorReason == "INVALID_TOKEN", "\(authorization)")
            }
            let refresh = try await env.get("/api/v1/users/me", token: "pcr_" + String(repeating: "A", count: 43))
            #expect(refresh.status == .unauthorized, "a refresh-token-shaped string is no bearer token")
            let unknownPersistent = try await env.get("/api/v1/users/me", token: "pcs_" + String(repeating: "A", count: 43))
            #expect(unknownPersistent.status == .unauthorized)
        }
    }

    @Test("a persistent service token works until revoked", arguments: Backend.allCases)
    func persistentToken(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let account = try await env.makeAccount("service-one", password: "service-password-1", roles: ["SERVICE_ACCOUNT"])
            let issued = try await env.identity.issuer.persistentToken(for: account, description: "ci")
            #expect(issued.token.hasPrefix("pcs_"))
            #expect(issued.token.count >= 4 + 43, "at least 256 bits")
            #expect(try await env.get("/api/v1/users/me", token: issued.token).status == .ok)
            // Only the hash is stored.
            let stored = try await env.database.first("SELECT token_hash FROM iam_tokens WHERE id = \(issued.record.id)")
            #expect(try stored?.string("token_hash") == Identifiers.tokenHash(issued.token))
            #expect(try await env.database.first("SELECT id FROM iam_tokens WHERE token_hash = \(issued.token)") == nil)
            try await env.identity.sessions.revoke(tokenID: issued.record.id)
            #expect(try await env.get("/api/v1/users/me", token: issued.token).status == .unauthorized)
        }
    }
}
