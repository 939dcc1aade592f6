import Foundation
import Gateway
import GatewayKit
import GatewayTestSupport
import Hummingbird
import HummingbirdTesting
import Logging
import Messaging
import NIOCore
import Policy
import PortcullisCore
import Storage
import TestSupport
import Testing

@Suite("Health endpoints")
struct HealthTests {
    static func report(_ response: TestResponse) throws -> HealthReport {
        struct Body: Decodable { let status: String; let details: [String: JSONValue]? }
        let body = try JSONDecoder().decode(Body.self, from: Data(response.body.readableBytesView))
        return HealthReport(status: body.status, details: body.details)
    }

    /// What `/health/ready` says to a caller with metrics.read (the bootstrap admin): the message of a
    /// failed readiness expectation, so a failure names the check that failed.
    static func diagnosis(_ client: any TestClientProtocol) async -> String {
        do {
            let login = try await client.execute(
                uri: "/login", method: .post, headers: [.contentType: "application/json"],
                body: ByteBuffer(bytes: try JSONEncoder().encode(["username": "admin", "password": IdentityEnvironment.adminPassword])))
            let token = try JSONDecoder().decode(JSONValue.self, from: Data(login.body.readableBytesView))["token"]?.stringValue ?? ""
            let ready = try await client.execute(uri: "/health/ready", method: .get, headers: [.authorization: "Bearer \(token)"])
            return String(buffer: ready.body)
        } catch {
            return "no diagnosis: \(error)"
        }
    }

    /// The full report, details included, as a caller with metrics.read gets it.
    static func fullReport(_ checks: [any ReadinessCheck]) async throws -> HealthReport {
        await HealthRoutes(checks: checks, policies: try PolicyStore(directory: PortcullisProcess.policiesDirectory)).report()
    }

    @Test("ready and healthcheck pass on a migrated database", arguments: Backend.allCases)
    func ready(backend: Backend) async throws {
        try await TestDatabases.withDatabase(backend) { database in
            let runner = MigrationRunner(
                database: database, migrations: [Migration(id: "t.1", ["CREATE TABLE t (id TEXT)"])], logger: TestDatabases.logger)
            try await runner.migrate()
            // A generous timeout: the suite runs many PostgreSQL tests at once, and this test is about the answer, not speed.
            let checks: [any ReadinessCheck] = [
                DatabaseReadiness(database: database, timeout: .seconds(60)), MigrationReadiness(runner: runner, timeout: .seconds(60)),
            ]
            try await withTestGateway(checks: checks) { client in
                for path in ["/health/ready", "/healthcheck"] {
                    let response = try await client.execute(uri: path, method: .get)
                    if response.status != .ok { Issue.record("\(path): \(await Self.diagnosis(client))") }
                    // Anonymous callers get the status alone; the details need metrics.read.
                    #expect(try Self.report(response) == HealthReport(status: "pass", details: nil))
                }
                let full = try await Self.fullReport(checks)
                #expect(full.status == "pass")
                #expect(full.details?["database"]?["status"] == "pass")
                // Database calls given up on at their deadline and still running: a figure, shared by the whole test process.
                #expect(full.details?["database"]?["abandoned"] != nil)
                #expect(full.details?["migrations"] == "pass")
            }
        }
    }

    @Test("ready fails with 503 while migrations are pending", arguments: Backend.allCases)
    func pendingMigrations(backend: Backend) async throws {
        try await TestDatabases.withDatabase(backend) { database in
            let runner = MigrationRunner(
                database: database, migrations: [Migration(id: "t.1", ["CREATE TABLE t (id TEXT)"])], logger: TestDatabases.logger)
            let checks: [any ReadinessCheck] = [
                DatabaseReadiness(database: database, timeout: .seconds(60)), MigrationReadiness(runner: runner, timeout: .seconds(60)),
            ]
            try await withTestGateway(checks: checks) { client in
                let response = try await client.execute(uri: "/health/ready", method: .get)
                #expect(response.status == .serviceUnavailable)
                #expect(try Self.report(response) == HealthReport(status: "fail", details: nil))
                let full = try await Self.fullReport(checks)
                #expect(full.status == "fail")
                #expect(full.details?["database"]?["status"] == "pass")
                #expect(full.details?["migrations"] == "fail")
            }
        }
    }

    @Test("any failing check makes ready fail while live still passes")
    func failingCheck() async throws {
        let checks: [any ReadinessCheck] = [FixedCheck(name: "database", ready: false), FixedCheck(name: "bus", ready: true)]
        try await withTestGateway(checks: checks) { client in
            let ready = try await client.execute(uri: "/health/ready", method: .get)
            #expect(ready.status == .serviceUnavailable)
            #expect(try await Self.fullReport(checks).details == ["database": "fail", "bus": "pass"])
            let live = try await client.execute(uri: "/health/live", method: .get)
            #expect(live.status == .ok)
            #expect(live.headers[.contentType] == "application/json; charset=utf-8")
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            #expect(String(buffer: live.body) == String(decoding: try encoder.encode(HealthReport(status: "pass", details: [:])), as: UTF8.self))
        }
    }
}

@Suite("Bus health")
struct BusHealthTests {
    @Test("ready reports queue depth, lag and dead letters of the bus", arguments: Backend.allCases)
    func busDetails(backend: Backend) async throws {
        try await withMessaging(backend) { _, messaging in
            try await messaging.queues.enqueue("flow-f1:a:messages", messageID: "1", message: .null, on: nil)
            try await messaging.queues.enqueue("flow-f1:a:messages", messageID: "2", message: .null, on: nil)
            let checks: [any ReadinessCheck] = [BusReadiness(store: messaging.store, clock: .system, timeout: .seconds(60))]
            try await withTestGateway(checks: checks) { client in
                let response = try await client.execute(uri: "/health/ready", method: .get)
                if response.status != .ok { Issue.record("\(await HealthTests.diagnosis(client))") }
                let report = try await HealthTests.fullReport(checks)
                let bus = try #require(report.details?["bus"])
                #expect(bus["status"] == "pass")
                #expect(bus["deadLetters"] == 0)
                let queue = try #require(bus["queues"]?["flow-f1:a:messages"])
                #expect(queue["depth"] == 2)
                #expect(queue["leased"] == 0)
                if case .double(let lag) = queue["lagSeconds"] {
                    #expect(lag >= 0)
                } else {
                    Issue.record("lagSeconds is not a number: \(String(describing: queue["lagSeconds"]))")
                }
            }
        }
    }
}
