import Foundation
import NIOHTTP1
import TestSupport
import Testing

/// The seed's "Starting a flow" against the real binary: create, start, watch `active`, stop, watch
/// `inactive`, with every step in `/logs` under the request's id.
@Suite("Flows end to end")
struct FlowEndToEndTests {
    static let flow = #"""
        {"name":"Sync contacts","type":"ordinary","graph":{"nodes":[{"id":"step_1","componentId":"c1","function":"getPersons"},
        {"id":"step_2","componentId":"c2","function":"upsertPerson"}],"edges":[{"source":"step_1","target":"step_2"}]}}
        """#

    static func status(_ server: PortcullisProcess, _ id: String, token: String) async throws -> String? {
        let response = try await HTTP.request(.GET, "\(server.baseURL)/flows/\(id)", headers: [("authorization", "Bearer \(token)")])
        return (response.json?["data"] as? [String: Any])?["status"] as? String
    }

    /// The names of the audit records of `requestID`.
    static func chain(_ server: PortcullisProcess, _ requestID: String, token: String) async throws -> [String] {
        let logs = try await HTTP.request(
            .GET, "\(server.baseURL)/logs?filter%5BrequestId%5D=\(requestID)&page%5Bsize%5D=100", headers: [("authorization", "Bearer \(token)")])
        return ((logs.json?["data"] as? [[String: Any]]) ?? []).compactMap { $0["name"] as? String }
    }

    @Test("create, start, active, stop, inactive through HTTP, each step in /logs under its request id", arguments: Backend.allCases)
    func startingAFlow(backend: Backend) async throws {
        let dataDirectory = ServeEndToEndTests.temporaryDirectory()
        let (environment, location) = try await ServeEndToEndTests.environment(for: backend, dataDirectory: dataDirectory)
        defer { try? FileManager.default.removeItem(atPath: dataDirectory) }
        let server = try await PortcullisProcess.start(environment: environment)
        let token = try await AuditEndToEndTests.login(server)
        let headers = [("authorization", "Bearer \(token)"), ("content-type", "application/json")]

        let created = try await HTTP.request(.POST, "\(server.baseURL)/flows", headers: headers, body: Self.flow)
        #expect(created.status == 201)
        let id = try #require((created.json?["data"] as? [String: Any])?["id"] as? String)
        let start = try await HTTP.request(.POST, "\(server.baseURL)/flows/\(id)/start", headers: headers + [("x-request-id", "e2e-start")])
        #expect(start.status == 200)
        #expect(try await eventually(timeout: .seconds(20)) { try await Self.status(server, id, token: token) == "active" })
        #expect(
            try await eventually(timeout: .seconds(20)) {
                Set(try await Self.chain(server, "e2e-start", token: token)).isSuperset(of: [
                    "audit.authz.decision", "audit.flow.start_requested", "audit.flow.started",
                ])
            })
        let stop = try await HTTP.request(.POST, "\(server.baseURL)/flows/\(id)/stop", headers: headers + [("x-request-id", "e2e-stop")])
        #expect(stop.status == 200)
        #expect(try await eventually(timeout: .seconds(20)) { try await Self.status(server, id, token: token) == "inactive" })
        #expect(
            try await eventually(timeout: .seconds(20)) {
                Set(try await Self.chain(server, "e2e-stop", token: token)).isSuperset(of: ["audit.flow.stop_requested", "audit.flow.stopped"])
            })
        #expect(try await server.stop() == 0)
        try await TestDatabases.drop(location)
    }

    @Test("two gateway processes on one PostgreSQL handle each lifecycle event once")
    func twoReplicas() async throws {
        let dataDirectory = ServeEndToEndTests.temporaryDirectory()
        let (environment, location) = try await ServeEndToEndTests.environment(for: .postgres, dataDirectory: dataDirectory)
        defer { try? FileManager.default.removeItem(atPath: dataDirectory) }
        let first = try await PortcullisProcess.start(environment: environment)
        let second = try await PortcullisProcess.start(environment: environment)
        let token = try await AuditEndToEndTests.login(first)
        let headers = [("authorization", "Bearer \(token)"), ("content-type", "application/json")]
        let replicas = [first, second]

        var ids: [String] = []
        for index in 0..<4 {
            let created = try await HTTP.request(.POST, "\(replicas[index % 2].baseURL)/flows", headers: headers, body: Self.flow)
            ids.append(try #require((created.json?["data"] as? [String: Any])?["id"] as? String))
        }
        // Two rounds of start and stop, each command on alternating replicas, each watched on the other.
        for round in 0..<2 {
            for (index, id) in ids.enumerated() {
                let start = try await HTTP.request(.POST, "\(replicas[(index + round) % 2].baseURL)/flows/\(id)/start", headers: headers)
                #expect(start.status == 200)
            }
            for (index, id) in ids.enumerated() {
                let other = replicas[(index + round + 1) % 2]
                #expect(try await eventually(timeout: .seconds(20)) { try await Self.status(other, id, token: token) == "active" })
            }
            for (index, id) in ids.enumerated() {
                #expect(try await HTTP.request(.POST, "\(replicas[(index + round) % 2].baseURL)/flows/\(id)/stop", headers: headers).status == 200)
            }
            for (index, id) in ids.enumerated() {
                let other = replicas[(index + round + 1) % 2]
                #expect(try await eventually(timeout: .seconds(20)) { try await Self.status(other, id, token: token) == "inactive" })
            }
        }
        // Each lifecycle event was handled once: one audit record of each kind per flow and round.
        let expected = ids.count * 2
        for name in ["audit.flow.start_requested", "audit.flow.started", "audit.flow.stop_requested", "audit.flow.stopped"] {
            let counted = try await eventually(timeout: .seconds(20)) {
                let logs = try await HTTP.request(
                    .GET, "\(first.baseURL)/logs?filter%5Bname%5D=\(name)&page%5Bsize%5D=100", headers: [("authorization", "Bearer \(token)")])
                return ((logs.json?["meta"] as? [String: Any])?["total"] as? Int) == expected
            }
            #expect(counted, "\(name)")
        }
        let logs = try await HTTP.request(
            .GET, "\(second.baseURL)/logs?filter%5Bname%5D=audit.flow.started&page%5Bsize%5D=100", headers: [("authorization", "Bearer \(token)")])
        let perFlow = Dictionary(grouping: (logs.json?["data"] as? [[String: Any]]) ?? []) {
            ($0["payload"] as? [String: Any])?["flowId"] as? String ?? "?"
        }
        #expect(perFlow.count == ids.count)
        #expect(perFlow.values.allSatisfy { $0.count == 2 })
        #expect(try await first.stop() == 0)
        #expect(try await second.stop() == 0)
        try await TestDatabases.drop(location)
    }
}
