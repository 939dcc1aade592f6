import Foundation
import NIOHTTP1
import TestSupport
import Testing

/// "Execute Webhook Flow" against the real binary, across a restart.
@Suite("Webhooks end to end")
struct WebhookEndToEndTests {
    @Test("a webhook flow keeps receiving after the gateway restarts", arguments: Backend.allCases)
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
        #expect(try await restarted.stop() == 0)
        try await TestDatabases.drop(location)
    }
}
