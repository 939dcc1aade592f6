import Foundation
import GatewayTestSupport
import HTTPTypes
import HummingbirdTesting
import PortcullisCore
import TestSupport
import Testing

@Suite("Readiness details")
struct ReadinessDetailsTests {
    @Test("health details are a recorded decision for callers with a token; anonymous callers get the status", arguments: Backend.allCases)
    func healthDetails(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let admin = try await env.adminToken()
            _ = try await env.makeAccount("dora", password: "dora-password-12")
            let user = try await env.login("dora", "dora-password-12")
            let anonymous = try await env.get("/health/ready")
            #expect(anonymous.status == .ok)
            #expect(anonymous.json == ["status": "pass"])
            let id = "health-\(UUID().uuidString)"
            let plain = try await env.send(.get, "/health/ready", token: user, requestID: id)
            #expect(plain.json == ["status": "pass"])
            _ = try await env.resourceDecisions(of: id, outcome: "deny", reason: "MISSING_PERMISSION", admin: admin)
            let full = try await env.get("/health/ready", token: admin)
            #expect(full.json?["details"]?["policies"]?["revision"]?.stringValue?.count == 16)
            #expect(full.json?["details"]?["bus"] != nil)
        }
    }
}
