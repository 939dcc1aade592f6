import Foundation
import NIOHTTP1
import TestSupport
import Testing

/// "Execute Webhook Flow" against the real binary, across a restart.
@Suite("Webhooks end to end")
struct WebhookEndToEndTests {
    @Test(
        "a webhook flow keeps receiving after the gateway restarts; its component leases the exact messages, emits and acks",
        arguments: Backend.allCases)
    func survivesRestart(backend: Backend) async throws {
        let dataDirectory = ServeEndToEndTests.temporaryDirectory()
        let (environment, location) = try await ServeEndToEndTests.environment(for: backend, dataDirectory: dataDirectory)
        defer { try? FileManager.default.removeItem(atPath: dataDirectory) }
        let server = try await PortcullisProcess.start(environment: environment)
        let admin = try await AuditEndToEndTests.login(server)
        let headers = [("authorization", "Bearer \(admin)"), ("content-type", "application/json")]
        let created = try await HTTP.request(.POST, "\(server.baseURL)/flows", headers: headers, body: FlowEndToEndTests.flow)
        let id = try #require((created.json?["data"] as? [String: Any])?["id"] as? String)
        #expect(try await HTTP.request(.POST, "\(server.baseURL)/flows/\(id)/start", headers: headers).status == 200)
        let hook: @Sendable (PortcullisProcess) async throws -> Int = { server in
            try await HTTP.request(.POST, "\(server.baseURL)/hook/\(id)", headers: [("content-type", "application/json")], body: #"{"n":1}"#).status
        }
        #expect(try await eventually(timeout: .seconds(20)) { try await hook(server) == 200 })
        #expect(try await server.stop() == 0)
        let restarted = try await PortcullisProcess.start(environment: environment)
        #expect(try await hook(restarted) == 200)
        #expect(
            try await HTTP.request(
                .POST, "\(restarted.baseURL)/hook/aaaaaaaaaaaaaaaaaaaaaaaa", headers: [("content-type", "application/json")], body: "{}"
            ).status == 404)

        // The README's component loop with the flow token: lease the exact messages, emit along the edge, ack.
        let token = try await SchedulerEndToEndTests.flowToken(restarted, id, admin: try await AuditEndToEndTests.login(restarted))
        let component = [("authorization", "Bearer \(token)"), ("content-type", "application/json")]
        let steps = "\(restarted.baseURL)/flows/\(id)/steps"
        let leased = try await HTTP.request(.POST, "\(steps)/step_1/messages/lease", headers: component, body: #"{"max":10}"#)
        let items = try #require(leased.json?["data"] as? [[String: Any]])
        #expect(items.count == 2, "one call before the restart, one after")
        for item in items {
            #expect((item["message"] as? [String: Any])?["data"] as? [String: Int] == ["n": 1])
            let emitted = try await HTTP.request(.POST, "\(steps)/step_1/messages", headers: component, body: #"{"message":{"done":true}}"#)
            #expect(emitted.status == 202)
            let messageID = try #require(item["messageId"] as? String)
            let leaseID = try #require(item["leaseId"] as? String)
            let ack = try await HTTP.request(
                .POST, "\(steps)/step_1/messages/\(messageID)/ack", headers: component, body: #"{"leaseId":"\#(leaseID)"}"#)
            #expect(ack.status == 204)
        }
        let next = try await HTTP.request(.POST, "\(steps)/step_2/messages/lease", headers: component, body: #"{"max":10}"#)
        #expect((next.json?["data"] as? [[String: Any]])?.count == 2, "both outputs reached the next node's queue")
        #expect(try await HTTP.request(.POST, "\(steps)/step_1/messages/lease", headers: [("content-type", "application/json")]).status == 401)
        #expect(try await restarted.stop() == 0)
        try await TestDatabases.drop(location)
    }
}
