import Foundation
import GatewayKit
import GatewayTestSupport
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import IAM
import NIOCore
import PortcullisCore
import TestSupport
import Testing

/// Checks that used to decide inside a handler without a trace: each now goes through the `Authorizer`
/// and leaves a resource decision record with the request's id.
@Suite("Every IAM check is a recorded decision")
struct RecordedCheckTests {
    static func requestID(_ label: String) -> String { "\(label)-\(UUID().uuidString.prefix(8))" }

    @Test("account creation in a foreign tenant and a foreign role are recorded denies", arguments: Backend.allCases)
    func creationChecks(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let (admin, tenants, admins) = try await AdministrationTests.twoTenants(env)
            let id = Self.requestID("foreign-tenant")
            let foreign = try await env.send(
                .post, "/api/v1/users", token: admins[0], requestID: id,
                json: ["username": "sneaky", "password": "sneaky-pass-123", "tenant": .string(tenants[1])])
            #expect(foreign.status == .forbidden)
            let denies = try await env.resourceDecisions(of: id, outcome: "deny", reason: "NOT_VISIBLE", admin: admin)
            #expect(denies.first?["resource"]?["tenant"]?.stringValue == tenants[1])

            let globexRole = try await AdministrationTests.create(env, "/api/v1/roles", ["name": "globex-only", "permissions": []], token: admins[1])
            let roleID = try #require(globexRole["id"]?.stringValue)
            let roleRequest = Self.requestID("foreign-role")
            let withRole = try await env.send(
                .post, "/api/v1/users", token: admins[0], requestID: roleRequest,
                json: ["username": "sneaky2", "password": "sneaky-pass-123", "roles": [.string(roleID)]])
            #expect(withRole.status == .forbidden)
            #expect(withRole.errorReason == "FOREIGN_ROLE")
            let foreignRole = try await env.resourceDecisions(of: roleRequest, outcome: "deny", reason: "FOREIGN_ROLE", admin: admin)
            #expect(foreignRole.first?["permission"] == nil, "the record does not show what another tenant's role holds")

            // An allowed creation records its tenant check and its grant check as allows.
            let allowed = Self.requestID("create-ok")
            let created = try await env.send(
                .post, "/api/v1/users", token: admins[0], requestID: allowed,
                json: ["username": "fine", "password": "fine-password-12", "permissions": ["flows.read"]])
            #expect(created.status == .created)
            _ = try await env.resourceDecisions(of: allowed, outcome: "allow", reason: "TENANT", admin: admin)
            _ = try await env.resourceDecisions(of: allowed, outcome: "allow", reason: "GRANTABLE", admin: admin)
        }
    }

    @Test("OAuth: revoking someone else's token, introspecting without the permission, exchanging as a non-actor", arguments: Backend.allCases)
    func oauthChecks(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let admin = try await env.adminToken()
            _ = try await env.makeAccount("alice", password: "alice-password-1")
            _ = try await env.makeAccount("mallory", password: "mallory-password-1")
            let alice = try await env.login("alice", "alice-password-1")
            let mallory = try await env.login("mallory", "mallory-password-1")

            let revokeID = Self.requestID("revoke")
            let revoke = try await OAuthTests.form(
                env, "/oauth2/revoke", [("token", alice)], headers: [.authorization: "Bearer \(mallory)", HTTPField.Name("x-request-id")!: revokeID])
            #expect(revoke.status == .ok, "RFC 7009 answers 200 either way")
            #expect(try await env.get("/api/v1/users/me", token: alice).status == .ok, "alice's token still works")
            _ = try await env.resourceDecisions(of: revokeID, outcome: "deny", reason: "MISSING_PERMISSION", admin: admin)

            let plain = try await OAuthTests.serviceAccount(env, name: "plain")
            let introspectID = Self.requestID("introspect")
            var headers = OAuthTests.basic(plain.clientID, plain.secret)
            headers[HTTPField.Name("x-request-id")!] = introspectID
            let introspect = try await OAuthTests.form(env, "/oauth2/introspect", [("token", alice)], headers: headers)
            #expect(introspect.status == .forbidden)
            _ = try await env.resourceDecisions(of: introspectID, outcome: "deny", reason: "MISSING_PERMISSION", admin: admin)

            let exchangeID = Self.requestID("exchange")
            headers[HTTPField.Name("x-request-id")!] = exchangeID
            let exchange = try await OAuthTests.form(
                env, "/oauth2/token",
                [("grant_type", OAuthService.tokenExchange), ("subject_token", alice), ("subject_token_type", OAuthService.accessTokenType)],
                headers: headers)
            #expect(exchange.status == .forbidden)
            _ = try await env.resourceDecisions(of: exchangeID, outcome: "deny", reason: "MISSING_PERMISSION", admin: admin)
        }
    }

    @Test("refusals about built-in roles, reserved names, foreign logs and widening scopes are recorded too", arguments: Backend.allCases)
    func otherRefusals(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let (admin, tenants, admins) = try await AdministrationTests.twoTenants(env)
            let builtIn = Self.requestID("builtin")
            #expect(
                try await env.send(.patch, "/api/v1/roles/builtin-user", token: admins[0], requestID: builtIn, json: ["name": "x"]).status
                    == .forbidden)
            _ = try await env.resourceDecisions(of: builtIn, outcome: "deny", reason: "BUILT_IN", admin: admin)
            let reserved = Self.requestID("reserved")
            #expect(try await env.send(.post, "/api/v1/roles", token: admins[0], requestID: reserved, json: ["name": "admin"]).status == .forbidden)
            _ = try await env.resourceDecisions(of: reserved, outcome: "deny", reason: "RESERVED_NAME", admin: admin)

            _ = try await env.makeAccount("pusher", password: "pusher-password-1", roles: ["SERVICE_ACCOUNT"], tenant: tenants[0])
            let pusher = try await env.login("pusher", "pusher-password-1")
            let foreignLog = Self.requestID("foreign-log")
            let pushed = try await env.send(.post, "/logs", token: pusher, requestID: foreignLog, json: ["name": "x", "tenant": .string(tenants[1])])
            #expect(pushed.status == .forbidden)
            _ = try await env.resourceDecisions(of: foreignLog, outcome: "deny", reason: "MISSING_PERMISSION", admin: admin)

            _ = try await env.makeAccount("subject", password: "subject-password-1", permissions: ["flows.read"])
            let subject = try await env.login("subject", "subject-password-1")
            let exchanger = try await OAuthTests.serviceAccount(env, name: "exchanger", permissions: ["iam.token.exchange"])
            let widen = Self.requestID("widen")
            var headers = OAuthTests.basic(exchanger.clientID, exchanger.secret)
            headers[HTTPField.Name("x-request-id")!] = widen
            let widened = try await OAuthTests.form(
                env, "/oauth2/token",
                [
                    ("grant_type", OAuthService.tokenExchange), ("subject_token", subject), ("subject_token_type", OAuthService.accessTokenType),
                    ("scope", "flows.read tenant.all"),
                ],
                headers: headers)
            #expect(widened.json?["error"] == "invalid_scope")
            let denies = try await env.resourceDecisions(of: widen, outcome: "deny", reason: "EXCEEDS_ACCOUNT", admin: admin)
            #expect(denies.first?["actor"]?["sub"]?.stringValue == exchanger.id, "the record names the client that asked")
        }
    }

    @Test("a wrong current password is a recorded deny and counts towards the lockout", arguments: Backend.allCases)
    func currentPassword(backend: Backend) async throws {
        try await withIdentityGateway(backend, lockout: LockoutPolicy(accountAttempts: 3, ipAttempts: 100)) { env in
            let admin = try await env.adminToken()
            _ = try await env.makeAccount("carol", password: "carol-password-1")
            let carol = try await env.login("carol", "carol-password-1")
            for attempt in 0..<3 {
                let id = Self.requestID("current-\(attempt)")
                let response = try await env.send(
                    .patch, "/api/v1/users/me", token: carol, requestID: id,
                    json: ["password": "new-carol-password", "currentPassword": .string("guess-\(attempt)-wrong")])
                #expect(response.status == .forbidden)
                #expect(response.errorReason == "INVALID_CURRENT_PASSWORD")
                _ = try await env.resourceDecisions(of: id, outcome: "deny", reason: "INVALID_CURRENT_PASSWORD", admin: admin)
            }
            // Three wrong guesses through the profile lock the account for logins too, and for further guesses.
            let locked = try await env.post("/login", json: ["username": "carol", "password": "carol-password-1"])
            #expect(locked.status == .tooManyRequests)
            let more = try await AdministrationTests.patch(
                env, "/api/v1/users/me", ["password": "new-carol-password", "currentPassword": "carol-password-1"], token: carol)
            #expect(more.status == .tooManyRequests)
        }
    }
}
