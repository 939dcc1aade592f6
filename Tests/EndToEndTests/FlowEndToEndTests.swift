import Foundation
import NIOHTTP1
import PortcullisCore
import Storage
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

    static func name(_ server: PortcullisProcess, _ id: String, token: String) async throws -> String? {
        let response = try await HTTP.request(.GET, "\(server.baseURL)/flows/\(id)", headers: [("authorization", "Bearer \(token)")])
        return (response.json?["data"] as? [String: Any])?["name"] as? String
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
        let database = try await DatabaseFactory.open(location, maximumConnections: 2, leaseTimeout: .seconds(30), logger: TestDatabases.logger)
        try await database.whileRunning {
            // A probe group of the test's own gets a copy of every orchestrator answer: one per handling.
            for pattern in ["flow.started", "flow.stopped"] {
                try await database.execute("INSERT INTO bus_subscriptions (group_name, pattern, created_at) VALUES ('probe', \(pattern), 0)")
            }
            let token = try await AuditEndToEndTests.login(first)
            let headers = [("authorization", "Bearer \(token)"), ("content-type", "application/json")]
            let replicas = [first, second]

            let answers: @Sendable () async throws -> [(name: String, flow: String)] = {
                try await database.query("SELECT body FROM bus_messages WHERE queue = 'bus:probe' ORDER BY seq").map {
                    let event = try JSONCoding.decode(Event.self, from: try $0.string("body"))
                    return (event.name, event.payload["id"]?.stringValue ?? "?")
                }
            }
            // How often the flow repository recorded `audit.flow.<action>` for `id`: once per event it handled.
            let recorded: @Sendable (String, String) async throws -> Int64 = { action, id in
                try await database.first(
                    "SELECT COUNT(*) AS n FROM audit_records WHERE name = \("audit.flow.\(action)") AND body LIKE \("%\"flowId\":\"\(id)\"%")"
                )?.int("n") ?? 0
            }

            var ids: [String] = []
            for index in 0..<4 {
                let created = try await HTTP.request(.POST, "\(replicas[index % 2].baseURL)/flows", headers: headers, body: Self.flow)
                ids.append(try #require((created.json?["data"] as? [String: Any])?["id"] as? String))
            }
            // A change on one replica reaches the other's flow cache through the notification channel: read on
            // the second (cached there), renamed on the first, and seen renamed on the second.
            let renamed = ids[0]
            #expect(try await Self.name(second, renamed, token: token) == "Sync contacts")
            #expect(try await HTTP.request(.PATCH, "\(first.baseURL)/flows/\(renamed)", headers: headers, body: #"{"name":"renamed"}"#).status == 200)
            #expect(try await eventually(timeout: .seconds(10)) { try await Self.name(second, renamed, token: token) == "renamed" })

            // Two rounds of start and stop, each command on alternating replicas, each watched on the other.
            for round in 0..<2 {
                for (index, id) in ids.enumerated() {
                    #expect(
                        try await HTTP.request(.POST, "\(replicas[(index + round) % 2].baseURL)/flows/\(id)/start", headers: headers).status == 200)
                }
                for (index, id) in ids.enumerated() {
                    let other = replicas[(index + round + 1) % 2]
                    #expect(try await eventually(timeout: .seconds(20)) { try await Self.status(other, id, token: token) == "active" })
                }
                for (index, id) in ids.enumerated() {
                    #expect(
                        try await HTTP.request(.POST, "\(replicas[(index + round) % 2].baseURL)/flows/\(id)/stop", headers: headers).status == 200)
                }
                for (index, id) in ids.enumerated() {
                    let other = replicas[(index + round + 1) % 2]
                    #expect(try await eventually(timeout: .seconds(20)) { try await Self.status(other, id, token: token) == "inactive" })
                }
            }
            // Each start and each stop of the two rounds was answered exactly once by the orchestrators, and
            // each answer handled exactly once by the flow repositories (one audit record per handling).
            let expectedAnswers = ids.count * 4
            #expect(try await eventually(timeout: .seconds(20)) { try await answers().count == expectedAnswers })
            for id in ids {
                #expect(try await eventually(timeout: .seconds(20)) { try await recorded("stopped", id) >= 2 })
                let handled = try await answers()
                #expect(handled.filter { $0.name == "flow.started" && $0.flow == id }.count == 2, "\(id)")
                #expect(handled.filter { $0.name == "flow.stopped" && $0.flow == id }.count == 2, "\(id)")
                #expect(try await eventually(timeout: .seconds(20)) { try await recorded("started", id) == 2 }, "\(id): audit.flow.started")
                #expect(try await recorded("stopped", id) == 2, "\(id): audit.flow.stopped")
            }

            // A third round where each stop follows its start at once, on the other replica: the start and
            // the stop race through both processes' consumers.
            for (index, id) in ids.enumerated() {
                #expect(try await HTTP.request(.POST, "\(replicas[index % 2].baseURL)/flows/\(id)/start", headers: headers).status == 200)
                #expect(try await HTTP.request(.POST, "\(replicas[(index + 1) % 2].baseURL)/flows/\(id)/stop", headers: headers).status == 200)
            }
            for id in ids {
                #expect(try await eventually(timeout: .seconds(20)) { try await Self.status(first, id, token: token) == "inactive" })
            }

            let expectedStops = ids.count * 3
            #expect(try await eventually(timeout: .seconds(20)) { try await answers().filter { $0.name == "flow.stopped" }.count == expectedStops })
            let handled = try await answers()
            for id in ids {
                let started = handled.filter { $0.name == "flow.started" && $0.flow == id }.count
                let stopped = handled.filter { $0.name == "flow.stopped" && $0.flow == id }.count
                // Once per start and stop: the third round's start may be answered or may find its stop first.
                #expect((2...3).contains(started), "\(id): \(started) flow.started")
                #expect(stopped == 3, "\(id): \(stopped) flow.stopped")
                #expect(try await eventually(timeout: .seconds(20)) { try await recorded("stopped", id) == 3 }, "\(id): audit.flow.stopped")
                // The third round's answer is recorded only if it came before its stop; a late one is stale.
                let startedRecords = try await recorded("started", id)
                #expect(startedRecords >= 2 && startedRecords <= Int64(started), "\(id): \(startedRecords) audit.flow.started for \(started) answers")
            }
            // Nothing of a running flow is left: no token account, no step queue.
            #expect(try await database.query("SELECT flow_id FROM iam_flow_accounts").isEmpty)
            #expect(try await database.query("SELECT queue FROM orchestrator_queues").isEmpty)
            #expect(try await first.stop() == 0)
            #expect(try await second.stop() == 0)
        }
        try await TestDatabases.drop(location)
    }
}
