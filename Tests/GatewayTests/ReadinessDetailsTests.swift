import Foundation
import GatewayTestSupport
import HTTPTypes
import HummingbirdTesting
import Messaging
import PortcullisCore
import Storage
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

@Suite("Metrics route")
struct MetricsRouteTests {
    @Test("queue gauges follow the queues: depth per queue, and a queue that is gone leaves the exposition", arguments: Backend.allCases)
    func queueGauges(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let admin = try await env.adminToken()
            try await env.messaging.queues.enqueue("metrics-probe", messageID: "m1", message: ["n": 1])
            try await env.messaging.queues.enqueue("metrics-probe", messageID: "m2", message: ["n": 2])
            let scrape = try await env.get("/metrics", token: admin)
            #expect(scrape.status == .ok)
            #expect(scrape.bodyText.contains(#"portcullis_queue_depth{queue="metrics-probe"} 2"#), "\(scrape.bodyText)")
            #expect(scrape.bodyText.contains(#"portcullis_queue_lag_seconds{queue="metrics-probe"}"#))
            try await env.database.execute("DELETE FROM bus_messages WHERE queue = 'metrics-probe'")
            let later = try await env.get("/metrics", token: admin)
            #expect(!later.bodyText.contains(#"queue="metrics-probe""#), "a queue that is gone is not reported")
            _ = try await env.makeAccount("mona", password: "mona-password-12")
            #expect(try await env.get("/metrics", token: try await env.login("mona", "mona-password-12")).status == .forbidden)
        }
    }
}
