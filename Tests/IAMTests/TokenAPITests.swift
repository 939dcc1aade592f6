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

@Suite("Token API")
struct TokenAPITests {
    @Test("a persistent token (expiresIn -1) for an account is listed without its secret, and revocable", arguments: Backend.allCases)
    func persistent(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let admin = try await env.adminToken()
            let service = try await env.makeAccount("svc", password: "svc-password-123", roles: ["SERVICE_ACCOUNT"])
            let created = try await env.post(
                "/api/v1/tokens", json: ["accountId": .string(service.id), "expiresIn": -1, "description": "ci"], token: admin)
            #expect(created.status == .created)
            let token = try #require(created.json?["data"]?["token"]?.stringValue)
            let id = try #require(created.json?["data"]?["id"]?.stringValue)
            #expect(token.hasPrefix("pcs_"))
            #expect(created.json?["data"]?["expiresAt"] == nil || created.json?["data"]?["expiresAt"] == .null)
            #expect(try await env.get("/api/v1/users/me", token: token).status == .ok)

            let listed = try await env.get("/api/v1/tokens?accountId=\(service.id)", token: admin)
            #expect(listed.json?["meta"]?["total"] == 1)
            #expect(listed.json?["data"]?.arrayValue?.first?["id"]?.stringValue == id)
            #expect(!String(buffer: listed.body).contains(token), "the secret is never returned again")
            #expect(try await env.get("/api/v1/tokens/\(id)", token: admin).json?["data"]?["kind"] == "persistent")

            let deleted = try await env.client.execute(uri: "/api/v1/tokens/\(id)", method: .delete, headers: [.authorization: "Bearer \(admin)"])
            #expect(deleted.status == .noContent)
            #expect(try await env.get("/api/v1/users/me", token: token).status == .unauthorized)
        }
    }

    @Test("short lifetimes give JWTs; custom permissions narrow and can never exceed the account's", arguments: Backend.allCases)
    func customPermissions(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let admin = try await env.adminToken()
            let account = try await env.makeAccount(
                "narrow", password: "narrow-password-1", permissions: ["iam.account.read", "bus.deadletters.manage"])
            let created = try await env.post(
                "/api/v1/tokens", json: ["accountId": .string(account.id), "expiresIn": "5m", "customPermissions": ["iam.account.read"]], token: admin
            )
            #expect(created.status == .created)
            let token = try #require(created.json?["data"]?["token"]?.stringValue)
            #expect(token.split(separator: ".").count == 3, "a JWT")
            #expect(try await env.get("/api/v1/users", token: token).status == .ok)
            #expect(try await env.get("/api/v1/bus/dead-letters", token: token).status == .forbidden, "narrowed away")

            let exceeding = try await env.post(
                "/api/v1/tokens", json: ["accountId": .string(account.id), "customPermissions": ["iam.tenant.delete"]], token: admin
            )
            #expect(exceeding.status == .forbidden)
            for bad: JSONValue in ["forever", 0, 15, "15x", true] {
                let response = try await env.post("/api/v1/tokens", json: ["accountId": .string(account.id), "expiresIn": bad], token: admin)
                #expect(response.errorReason == "INVALID_EXPIRES_IN", "\(bad)")
            }
            #expect(try await env.post("/api/v1/tokens", json: ["accountId": "nobody"], token: admin).status == .notFound)
        }
    }

    @Test("introspection answers the RFC 7662 body, and {active:false} for dead tokens", arguments: Backend.allCases)
    func introspection(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let admin = try await env.adminToken()
            let user = try await env.makeAccount("intro", password: "intro-password-1", roles: ["USER"], tenant: "t9")
            let token = try await env.login("intro", "intro-password-1")
            let body = try await env.post("/api/v1/tokens/introspect", json: ["token": .string(token)], token: admin)
            #expect(body.status == .ok)
            let json = try #require(body.json)
            #expect(json["active"] == true)
            #expect(json["sub"]?.stringValue == user.id)
            #expect(json["username"] == "intro")
            #expect(json["tenant"] == "t9")
            #expect(json["token_type"] == "access_token")
            #expect(json["isAdmin"] == false)
            #expect(json["roles"] == ["builtin-user"])
            #expect(json["permissions"]?.arrayValue?.contains("flows.read") == true)
            #expect(json["data"] == nil, "bare object, no data wrapper")
            if case .int? = json["exp"] {} else { Issue.record("exp is not an integer") }

            try await env.identity.sessions.revoke(tokenID: try #require(json["jti"]?.stringValue))
            #expect(try await env.post("/api/v1/tokens/introspect", json: ["token": .string(token)], token: admin).json == ["active": false])
            #expect(try await env.post("/api/v1/tokens/introspect", json: ["token": "garbage"], token: admin).json == ["active": false])
            let userToken = try await env.login("intro", "intro-password-1")
            #expect(try await env.post("/api/v1/tokens/introspect", json: ["token": "x"], token: userToken).status == .forbidden)
        }
    }

    @Test("refresh issues a new token and retires the old one", arguments: Backend.allCases)
    func refresh(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let old = try await env.adminToken()
            let response = try await env.post("/api/v1/tokens/refresh", json: [:], token: old)
            #expect(response.status == .ok)
            let new = try #require(response.json?["token"]?.stringValue)
            #expect(new != old)
            #expect(try await env.get("/api/v1/users/me", token: new).status == .ok)
            #expect(try await env.get("/api/v1/users/me", token: old).status == .unauthorized)
        }
    }

    @Test("owners revoke their own tokens; others' tokens are not found", arguments: Backend.allCases)
    func ownership(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            _ = try await env.makeAccount("alice", password: "alice-password-1")
            _ = try await env.makeAccount("bob", password: "bob-password-123")
            let alice = try await env.login("alice", "alice-password-1")
            let aliceOther = try await env.login("alice", "alice-password-1")
            let bob = try await env.login("bob", "bob-password-123")
            let introspected = try await env.post(
                "/api/v1/tokens/introspect", json: ["token": .string(aliceOther)], token: try await env.adminToken())
            let otherID = try #require(introspected.json?["jti"]?.stringValue)
            let byBob = try await env.client.execute(uri: "/api/v1/tokens/\(otherID)", method: .delete, headers: [.authorization: "Bearer \(bob)"])
            #expect(byBob.status == .notFound)
            let byAlice = try await env.client.execute(
                uri: "/api/v1/tokens/\(otherID)", method: .delete, headers: [.authorization: "Bearer \(alice)"])
            #expect(byAlice.status == .noContent)
            #expect(try await env.get("/api/v1/users/me", token: aliceOther).status == .unauthorized)
            #expect(try await env.get("/api/v1/tokens", token: alice).status == .forbidden)
        }
    }
}
