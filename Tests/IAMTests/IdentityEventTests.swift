import Foundation
import GatewayKit
import GatewayTestSupport
import HTTPTypes
import HummingbirdTesting
import Messaging
import PortcullisCore
import TestSupport
import Testing

@Suite("Identity events")
struct IdentityEventTests {
    @Test("logins, account and token changes publish events that never hold a password or a token", arguments: Backend.allCases)
    func events(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            // A group that listens to everything the identity module says.
            _ = try await env.messaging.bus.subscribe(group: "observer", patterns: ["iam.#", "audit.#"]) { _, _ in }

            let admin = try await env.adminToken()
            _ = try await env.post("/login", json: ["username": "admin", "password": "a-wrong-password"])
            let created = try await env.post("/api/v1/users", json: ["username": "evt", "password": "evt-password-123"], token: admin)
            let id = try #require(created.json?["data"]?["id"]?.stringValue)
            let issued = try await env.post("/api/v1/tokens", json: ["accountId": .string(id), "expiresIn": -1], token: admin)
            let secret = try #require(issued.json?["data"]?["token"]?.stringValue)
            let tokenID = try #require(issued.json?["data"]?["id"]?.stringValue)
            _ = try await env.client.execute(uri: "/api/v1/tokens/\(tokenID)", method: .delete, headers: [.authorization: "Bearer \(admin)"])

            let messages = try await env.messaging.store.claim(queue: "bus:observer", max: 100, visibility: .seconds(30), maxAttempts: 10)
            let events = try messages.map { try JSONCoding.decode(Event.self, from: $0.body) }
            let names = events.map(\.name)
            #expect(names.contains("audit.iam.login"))
            #expect(names.contains("iam.user.created"))
            #expect(names.contains("audit.iam.token.created"))
            #expect(names.contains("iam.token.revoked"))
            #expect(names.contains("audit.iam.token.revoked"))
            let outcomes = events.filter { $0.name == "audit.iam.login" }.compactMap { $0.payload["outcome"]?.stringValue }
            #expect(Set(outcomes) == ["allow", "deny"], "successful and failed logins are both recorded")
            for message in messages {
                for secretText in [IdentityEnvironment.adminPassword, "a-wrong-password", "evt-password-123", admin, secret] {
                    #expect(!message.body.contains(secretText), "an event carried a secret: \(message.body)")
                }
            }
        }
    }
}
