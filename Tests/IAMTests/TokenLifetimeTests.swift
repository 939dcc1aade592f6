import Foundation
import GatewayKit
import GatewayTestSupport
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import IAM
import NIOCore
import PortcullisCore
import Synchronization
import TestSupport
import Testing

/// A refreshed token never outlives its grant, and every refresh token can be taken back.
@Suite("Token lifetimes and refresh revocation")
struct TokenLifetimeTests {
    static func number(_ value: JSONValue?) -> Double? {
        switch value {
        case .int(let int)?: Double(int)
        case .double(let double)?: double
        default: nil
        }
    }

    static func refreshGrant(_ env: IdentityEnvironment, _ refreshToken: String) async throws -> TestResponse {
        try await OAuthTests.form(env, "/oauth2/token", [("grant_type", "refresh_token"), ("refresh_token", refreshToken)])
    }

    static func passwordGrant(_ env: IdentityEnvironment, _ username: String, _ password: String) async throws -> (access: String, refresh: String) {
        let response = try await OAuthTests.form(env, "/oauth2/token", [("grant_type", "password"), ("username", username), ("password", password)])
        let access = try #require(response.json?["access_token"]?.stringValue, "\(response.status) \(String(buffer: response.body))")
        return (access, try #require(response.json?["refresh_token"]?.stringValue))
    }

    @Test("refreshing an expiring opaque token keeps its expiry; a persistent one stays persistent", arguments: Backend.allCases)
    func opaqueRefreshKeepsExpiry(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let admin = try await env.adminToken()
            let worker = try await env.makeAccount("worker", password: "worker-password-1")
            let created = try await env.post("/api/v1/tokens", json: ["accountId": .string(worker.id), "expiresIn": "2h"], token: admin)
            let token = try #require(created.json?["data"]?["token"]?.stringValue)
            let expiresAt = try #require(created.json?["data"]?["expiresAt"]?.stringValue)
            let refreshed = try await env.post("/api/v1/tokens/refresh", json: [:], token: token)
            #expect(refreshed.status == .ok)
            let newID = try #require(refreshed.json?["id"]?.stringValue)
            let record = try await env.get("/api/v1/tokens/\(newID)", token: admin)
            #expect(record.json?["data"]?["expiresAt"]?.stringValue == expiresAt, "the grant said two hours from creation, and so it stays")
            #expect(try await env.get("/api/v1/users/me", token: token).status == .unauthorized, "the old token stops")

            let persistent = try await env.post("/api/v1/tokens", json: ["accountId": .string(worker.id), "expiresIn": -1], token: admin)
            let persistentToken = try #require(persistent.json?["data"]?["token"]?.stringValue)
            let again = try await env.post("/api/v1/tokens/refresh", json: [:], token: persistentToken)
            #expect(again.status == .ok)
            #expect(again.json?["expiresIn"] == nil || again.json?["expiresIn"] == .null)
        }
    }

    @Test("access-token refresh chains and refresh tokens end with the session", arguments: Backend.allCases)
    func sessionLimit(backend: Backend) async throws {
        // The gateway's clock is the test's: the session ends when the test says, however loaded the machine is.
        let clock = TestClock()
        try await withIdentityGateway(backend, sessionMax: .seconds(600), clock: clock.wallClock) { env in
            _ = try await env.makeAccount("sam", password: "sam-password-123")
            let token = try await env.login("sam", "sam-password-123")
            let other = try await env.login("sam", "sam-password-123")
            let (_, refresh) = try await Self.passwordGrant(env, "sam", "sam-password-123")
            // Nine minutes into a ten-minute session, a refresh gets a token for the minute left, not fifteen.
            clock.advance(by: 540)
            let late = try await env.post("/api/v1/tokens/refresh", json: [:], token: token)
            #expect(late.status == .ok)
            let lateToken = try #require(late.json?["token"]?.stringValue)
            let claims = try JWTParts(lateToken).payload
            let lifetime = try #require(Self.number(claims["exp"])) - (try #require(Self.number(claims["iat"])))
            #expect(lifetime <= 61)
            clock.advance(by: 61)
            // The session is over: a token of it (still within its own lifetime) cannot be extended, nor
            // the refresh token used.
            let refused = try await env.post("/api/v1/tokens/refresh", json: [:], token: other)
            #expect(refused.status == .unauthorized)
            #expect(refused.errorReason == "SESSION_EXPIRED")
            let grant = try await Self.refreshGrant(env, refresh)
            #expect(grant.json?["error"] == "invalid_grant")
        }
    }

    @Test("rotating a service account's secret revokes the tokens its old secret obtained", arguments: Backend.allCases)
    func rotationRevokesClientTokens(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let admin = try await env.adminToken()
            let service = try await OAuthTests.serviceAccount(env, name: "rotor", permissions: ["flows.read"])
            let issued = try await OAuthTests.form(
                env, "/oauth2/token", [("grant_type", "client_credentials")], headers: OAuthTests.basic(service.clientID, service.secret))
            let token = try #require(issued.json?["access_token"]?.stringValue)
            #expect(try await env.get("/api/v1/users/me", token: token).status == .ok)
            #expect(try await env.post("/api/v1/service-accounts/\(service.id)/secret", json: [:], token: admin).status == .ok)
            #expect(try await env.get("/api/v1/users/me", token: token).status == .unauthorized)
        }
    }

    @Test("/oauth2/revoke takes back a refresh token and its family; /logout ends the refresh family too", arguments: Backend.allCases)
    func refreshRevocation(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            _ = try await env.makeAccount("rita", password: "rita-password-12")
            let first = try await Self.passwordGrant(env, "rita", "rita-password-12")
            let revoked = try await OAuthTests.form(
                env, "/oauth2/revoke", [("token", first.refresh)], headers: [.authorization: "Bearer \(first.access)"])
            #expect(revoked.status == .ok)
            #expect(try await Self.refreshGrant(env, first.refresh).json?["error"] == "invalid_grant")
            #expect(try await env.get("/api/v1/users/me", token: first.access).status == .unauthorized, "the family's access token goes too")

            // Revoking needs to be the owner: another user's attempt leaves the refresh token working.
            _ = try await env.makeAccount("mallory", password: "mallory-password-1")
            let mallory = try await env.login("mallory", "mallory-password-1")
            let second = try await Self.passwordGrant(env, "rita", "rita-password-12")
            _ = try await OAuthTests.form(env, "/oauth2/revoke", [("token", second.refresh)], headers: [.authorization: "Bearer \(mallory)"])
            let rotated = try await Self.refreshGrant(env, second.refresh)
            #expect(rotated.status == .ok)
            let next = try #require(rotated.json?["refresh_token"]?.stringValue)
            let nextAccess = try #require(rotated.json?["access_token"]?.stringValue)

            #expect(try await env.post("/logout", json: [:], token: nextAccess).status == .ok)
            #expect(try await Self.refreshGrant(env, next).json?["error"] == "invalid_grant", "logout ends the refresh family")
        }
    }

    @Test("two concurrent uses of one refresh token: exactly one succeeds and the family is revoked", arguments: Backend.allCases)
    func concurrentRefresh(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            _ = try await env.makeAccount("twin", password: "twin-password-12")
            for _ in 0..<3 {
                let grant = try await Self.passwordGrant(env, "twin", "twin-password-12")
                let responses = try await withThrowingTaskGroup(of: TestResponse.self) { group in
                    for _ in 0..<2 { group.addTask { try await Self.refreshGrant(env, grant.refresh) } }
                    return try await group.reduce(into: [TestResponse]()) { $0.append($1) }
                }
                let winners = responses.filter { $0.status == .ok }
                #expect(winners.count == 1, "\(responses.map(\.status))")
                #expect(responses.filter { $0.json?["error"] == "invalid_grant" }.count == 1)
                // The loser was treated as reuse: what the winner got is revoked with the family.
                let winner = try #require(winners.first)
                let access = try #require(winner.json?["access_token"]?.stringValue)
                let refresh = try #require(winner.json?["refresh_token"]?.stringValue)
                #expect(try await env.get("/api/v1/users/me", token: access).status == .unauthorized)
                #expect(try await Self.refreshGrant(env, refresh).json?["error"] == "invalid_grant")
            }
        }
    }
}
