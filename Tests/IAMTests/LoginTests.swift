import Foundation
import GatewayKit
import GatewayTestSupport
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import IAM
import PortcullisCore
import TestSupport
import Testing

@Suite("Login, logout and the caller's account")
struct LoginTests {
    @Test("login answers {token,id,expiresIn} and the token works as bearer on /users/me", arguments: Backend.allCases)
    func loginAndMe(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let response = try await env.post("/login", json: ["username": "admin", "password": .string(IdentityEnvironment.adminPassword)])
            #expect(response.status == .ok)
            let json = try #require(response.json)
            let token = try #require(json["token"]?.stringValue)
            #expect(json["id"]?.stringValue?.count == 24)
            #expect(json["expiresIn"] == 900)
            let me = try await env.get("/api/v1/users/me", token: token)
            #expect(me.status == .ok)
            #expect(me.json?["data"]?["username"] == "admin")
            #expect(me.json?["data"]?["status"] == "ACTIVE")
            #expect(me.json?["data"]?["password"] == nil)
        }
    }

    @Test("usernames are trimmed and case-folded", arguments: Backend.allCases)
    func canonicalUsername(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let token = try await env.login("  ADMIN ", IdentityEnvironment.adminPassword)
            let me = try await env.get("/api/v1/users/me", token: token)
            #expect(me.status == .ok)
            #expect(me.json?["data"]?["username"] == "admin", "the session is the canonical account's")
        }
    }

    @Test("unknown user and wrong password get the same generic 401", arguments: Backend.allCases)
    func genericFailure(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let unknown = try await env.post("/login", json: ["username": "nobody", "password": "whatever-password"])
            let wrong = try await env.post("/login", json: ["username": "admin", "password": "wrong-password-here"])
            #expect(unknown.status == .unauthorized)
            #expect(wrong.status == .unauthorized)
            #expect(unknown.body == wrong.body, "the two failures must be indistinguishable")
            #expect(unknown.errorReason == "INVALID_CREDENTIALS")
            #expect(unknown.headers[.wwwAuthenticate] == "Bearer")
        }
    }

    @Test("malformed login bodies get 400 with every problem listed", arguments: Backend.allCases)
    func badBodies(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let empty = try await env.post("/login", json: ["username": "", "password": ""])
            #expect(empty.status == .badRequest)
            if case .array(let errors)? = empty.json?["errors"] { #expect(errors.count == 2) } else { Issue.record("no errors array") }
            let wrongType = try await env.post("/login", json: ["username": 5, "password": "x"])
            #expect(wrongType.errorReason == "INVALID_TYPE")
            let missing = try await env.post("/login", json: ["username": "admin"])
            #expect(missing.errorReason == "MISSING_FIELD")
            let garbage = try await env.client.execute(
                uri: "/login", method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(string: "{nope")
            )
            #expect(garbage.errorReason == "MALFORMED_JSON")
        }
    }

    @Test("logout revokes exactly the presented token", arguments: Backend.allCases)
    func logout(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let first = try await env.adminToken()
            let second = try await env.adminToken()
            let response = try await env.post("/logout", json: [:], token: first)
            #expect(response.status == .ok)
            #expect(response.json == ["loggedOut": true])
            #expect(try await env.get("/api/v1/users/me", token: first).status == .unauthorized)
            #expect(try await env.get("/api/v1/users/me", token: second).status == .ok)
            #expect(try await env.post("/logout", json: [:]).status == .unauthorized)
        }
    }

    @Test("a disabled account gets 401 at once, also for its tokens, and works again when re-enabled", arguments: Backend.allCases)
    func disabledAccount(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let account = try await env.makeAccount("worker", password: "worker-password-1")
            let token = try await env.login("worker", "worker-password-1")
            #expect(try await env.get("/api/v1/users/me", token: token).status == .ok)
            // Disabled and enabled again by an admin, through the API as an operator would.
            let admin = try await env.adminToken()
            #expect(try await AdministrationTests.patch(env, "/api/v1/users/\(account.id)", ["status": "DISABLED"], token: admin).status == .ok)
            let refused = try await env.get("/api/v1/users/me", token: token)
            #expect(refused.status == .unauthorized)
            #expect(refused.errorReason == "ACCOUNT_DISABLED")
            let login = try await env.post("/login", json: ["username": "worker", "password": "worker-password-1"])
            #expect(login.errorReason == "ACCOUNT_DISABLED", "the disabled state is told only after a correct password")
            let wrong = try await env.post("/login", json: ["username": "worker", "password": "not-the-password"])
            #expect(wrong.errorReason == "INVALID_CREDENTIALS")
            #expect(try await AdministrationTests.patch(env, "/api/v1/users/\(account.id)", ["status": "ACTIVE"], token: admin).status == .ok)
            #expect(try await env.get("/api/v1/users/me", token: token).status == .ok)
        }
    }

    @Test("repeated failures lock the account with 429 and Retry-After, even for the right password", arguments: Backend.allCases)
    func accountLockout(backend: Backend) async throws {
        try await withIdentityGateway(backend, lockout: LockoutPolicy(accountAttempts: 3, ipAttempts: 100)) { env in
            _ = try await env.makeAccount("target", password: "target-password-1")
            for _ in 0..<3 {
                let failed = try await env.post("/login", json: ["username": "target", "password": "guess-guess-guess"])
                #expect(failed.errorReason == "INVALID_CREDENTIALS")
            }
            let locked = try await env.post("/login", json: ["username": "target", "password": "target-password-1"])
            #expect(locked.status == .tooManyRequests)
            #expect(locked.errorReason == "TOO_MANY_ATTEMPTS")
            let retryAfter = try #require(locked.headers[HTTPField.Name("Retry-After")!].flatMap(Int.init))
            #expect(retryAfter > 0 && retryAfter <= 900)
            // Another account is not affected by this account's lock.
            _ = try await env.adminToken()
        }
    }

    @Test("repeated failures from one address lock that address across usernames", arguments: Backend.allCases)
    func ipLockout(backend: Backend) async throws {
        try await withIdentityGateway(backend, lockout: LockoutPolicy(accountAttempts: 100, ipAttempts: 4)) { env in
            for number in 0..<4 {
                _ = try await env.post("/login", json: ["username": .string("user\(number)"), "password": "guess-guess-guess"])
            }
            let locked = try await env.post("/login", json: ["username": "admin", "password": .string(IdentityEnvironment.adminPassword)])
            #expect(locked.status == .tooManyRequests)
        }
    }

    @Test("the JWKS lists the signing key and discovery names the configured issuer", arguments: Backend.allCases)
    func discovery(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let token = try await env.adminToken()
            let kid = try #require(try JWTParts(token).header["kid"]?.stringValue)
            let jwks = try await env.get("/.well-known/jwks.json")
            guard case .array(let keys)? = jwks.json?["keys"] else {
                Issue.record("no keys")
                return
            }
            #expect(keys.contains { $0["kid"]?.stringValue == kid && $0["alg"] == "ES256" && $0["kty"] == "EC" })
            #expect(keys.allSatisfy { $0["d"] == nil }, "never a private key")
            let discovery = try await env.get("/.well-known/openid-configuration")
            #expect(discovery.json?["issuer"] == "http://portcullis.test")
            #expect(discovery.json?["jwks_uri"] == "http://portcullis.test/.well-known/jwks.json")
        }
    }
}
