import Foundation
import NIOHTTP1
import PortcullisCore
import Storage
import TestSupport
import Testing

/// Faults under load, against the real binary: PostgreSQL crashing and coming back, and the gateway
/// itself killed. What must hold: only requests made while the database is down are lost, each refused;
/// every request answered 2xx has its record in the audit chain; every consumer carries on by itself.
@Suite("Faults under load, end to end", .serialized)
struct DatabaseFaultEndToEndTests {
    /// Deadlines the fault test gives the gateway; a request must be answered within their sum plus slack.
    static let databaseTimeout = 2
    static let auditWriteTimeout = 5
    static let shutdownTimeout = 10

    /// The request ids among `prefix`'s that have a record in the chain.
    static func recorded(in database: any Database, prefix: String) async throws -> Set<String> {
        let pattern = "\(prefix)-%"
        let rows = try await database.query("SELECT request_id FROM audit_records WHERE request_id LIKE \(pattern)")
        return Set(try rows.map { try $0.string("request_id") })
    }

    /// Waits until every id in `expected` is recorded, or `timeout` passes; returns the ids still missing.
    static func missingRecords(
        _ expected: Set<String>, location: DatabaseLocation, prefix: String, timeout: Duration
    ) async throws -> Set<String> {
        let database = try await DatabaseFactory.open(location, maximumConnections: 2, leaseTimeout: .seconds(30), logger: TestDatabases.logger)
        return try await database.whileRunning {
            var missing = expected
            let deadline = ContinuousClock.now + timeout
            repeat {
                missing = expected.subtracting(try await Self.recorded(in: database, prefix: prefix))
                if missing.isEmpty { break }
                try await Task.sleep(for: .milliseconds(250))
            } while ContinuousClock.now < deadline
            return missing
        }
    }

    /// With `PORTCULLIS_TEST_FAULT_TIMELINE=<file>`, writes every request and readiness answer, in seconds
    /// from the crash, to `<file>` and the gateway's log to `<file>.server`: what to read when this test fails.
    static func writeTimeline(
        _ outcomes: [LoadGenerator.Outcome], readiness: [(at: ContinuousClock.Instant, status: Int)], down: ContinuousClock.Instant,
        restarting: ContinuousClock.Instant, back: ContinuousClock.Instant, server: PortcullisProcess
    ) {
        guard let file = ProcessInfo.processInfo.environment["PORTCULLIS_TEST_FAULT_TIMELINE"] else { return }
        var lines = ["down 0, restarting \(down.duration(to: restarting)), back \(down.duration(to: back))"]
        for outcome in outcomes.sorted(by: { $0.sent < $1.sent }) {
            lines.append("\(outcome.requestID) \(outcome.status) sent \(down.duration(to: outcome.sent)) took \(outcome.duration)")
        }
        for answer in readiness { lines.append("ready \(answer.status) at \(down.duration(to: answer.at))") }
        try? lines.joined(separator: "\n").write(toFile: file, atomically: true, encoding: .utf8)
        try? server.outputText.write(toFile: file + ".server", atomically: true, encoding: .utf8)
    }

    @Test("PostgreSQL crashes under load: refused while down, nothing hangs, then every consumer and the audit chain carry on")
    func postgresCrash() async throws {
        let cluster = try await ThrowawayCluster.start()
        do {
            try await Self.crashAndRecover(cluster)
        } catch {
            await cluster.destroy()
            throw error
        }
        await cluster.destroy()
    }

    static func crashAndRecover(_ cluster: ThrowawayCluster) async throws {
        let dataDirectory = ServeEndToEndTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dataDirectory) }
        let location = DatabaseLocation.postgres(try PostgresEndpoint.parse(cluster.url))
        let server = try await PortcullisProcess.start(environment: [
            "DATABASE_URL": cluster.url, "PORTCULLIS_MASTER_KEY": TestDatabases.masterKey, "PORTCULLIS_DATA_DIR": dataDirectory,
            "PORTCULLIS_DATABASE_TIMEOUT": "\(Self.databaseTimeout)s", "PORTCULLIS_AUDIT_WRITE_TIMEOUT": "\(Self.auditWriteTimeout)s",
            "PORTCULLIS_SHUTDOWN_TIMEOUT": "\(Self.shutdownTimeout)s",
            "PORTCULLIS_LOG_LEVEL": ProcessInfo.processInfo.environment["PORTCULLIS_TEST_FAULT_LOG_LEVEL"] ?? "info",
        ])
        // A second process with a bus group of its own, as another module's replica would be.
        let setup = try await DatabaseFactory.open(location, maximumConnections: 1, leaseTimeout: .seconds(30), logger: TestDatabases.logger)
        try await setup.whileRunning {
            try await setup.execute("CREATE TABLE probe_handled (event_id TEXT NOT NULL, worker TEXT NOT NULL)")
        }
        let worker = try ChildProcess("bus-worker", arguments: ["consume", cluster.url, "probe", "iam.#", "W"])
        try await worker.waitForOutput("ready")

        let token = try await AuditEndToEndTests.login(server)
        let prefix = "fault-\(UUID().uuidString.prefix(8))"
        let load = LoadGenerator(prefix: prefix)
        let readiness = ReadinessPoller()
        async let loading: Void = load.run(clients: 8, url: "\(server.baseURL)/api/v1/users/me", token: token, pause: .milliseconds(10))
        async let polling: Void = readiness.run(url: "\(server.baseURL)/health/ready")

        try await Task.sleep(for: .seconds(2))
        try await cluster.crash()
        let down = ContinuousClock.now
        // Liveness depends on nothing: a probe must not restart a replica because its database is away.
        let live = try await HTTP.request(.GET, "\(server.baseURL)/health/live")
        #expect(live.status == 200, "\(live.body)")
        try await Task.sleep(until: down + .seconds(4))
        let restarting = ContinuousClock.now
        try await cluster.restart()
        let back = ContinuousClock.now

        // (b) Requests succeed again within seconds of the database's return.
        let recovered = await eventually(timeout: .seconds(15)) {
            load.all.contains { $0.sent > back && $0.succeeded }
        }
        // Load goes on until 5 s after the return, so that the last seconds show a settled gateway.
        try await Task.sleep(until: back + .seconds(5))
        load.stop()
        await loading
        let outcomes = load.all
        #expect(recovered, "no request succeeded within 15 s of PostgreSQL's return: \(server.outputText.suffix(3000))")
        let settled = outcomes.filter { $0.sent > back + .seconds(3) }
        #expect(!settled.isEmpty && settled.allSatisfy(\.succeeded), "3 s after the return, every request succeeds: \(Set(settled.map(\.status)))")
        #expect(outcomes.contains { $0.answered < down && $0.succeeded }, "requests succeeded before the crash")

        // (a) While the database was down, nothing was answered 2xx, and nothing hung past its deadline.
        // A request sent before the crash completed may have done all its database work before it and only
        // been answered after it (a loaded machine): it may succeed. One sent after may not; and every
        // refusal in the window is a 503.
        let whileDown = outcomes.filter { $0.answered > down && $0.answered < restarting }
        #expect(!whileDown.isEmpty)
        let sentWhileDown = whileDown.filter { $0.sent > down }
        #expect(sentWhileDown.allSatisfy { !$0.succeeded }, "\(sentWhileDown.filter(\.succeeded).map(\.requestID))")
        #expect(whileDown.allSatisfy { $0.succeeded || $0.status == 503 }, "refused with 503: \(Set(whileDown.map(\.status)))")
        let bound = Duration.seconds(Self.databaseTimeout + Self.auditWriteTimeout + 5)
        let slowest = outcomes.map(\.duration).max() ?? .zero
        #expect(slowest < bound, "the slowest request took \(slowest)")
        #expect(!outcomes.contains { $0.status == 0 }, "every request got an answer")

        // (c) Within 15 s every request answered 2xx has its record in the chain, and the chain verifies.
        let answered = Set(outcomes.filter(\.succeeded).map(\.requestID))
        let missing = try await Self.missingRecords(answered, location: location, prefix: prefix, timeout: .seconds(15))
        #expect(missing.isEmpty, "\(missing.count) of \(answered.count) requests answered 2xx have no record: \(missing.sorted().prefix(5))")
        let bearer = [("authorization", "Bearer \(token)")]
        let verify = try await HTTP.request(.GET, "\(server.baseURL)/logs/verify", headers: bearer)
        #expect((verify.json?["data"] as? [String: Any])?["ok"] as? Bool == true, "\(verify.body)")

        // (d) An event published after the restart reaches every group: the audit log's, and the other process's.
        let created = try await HTTP.request(
            .POST, "\(server.baseURL)/api/v1/users", headers: bearer + [("content-type", "application/json"), ("x-request-id", "\(prefix)-user")],
            body: #"{"username":"after-restart","password":"after-restart-password-1"}"#)
        #expect(created.status == 201, "\(created.body)")
        #expect(try await Self.missingRecords(["\(prefix)-user"], location: location, prefix: prefix, timeout: .seconds(15)).isEmpty)
        let probe = try await DatabaseFactory.open(location, maximumConnections: 1, leaseTimeout: .seconds(30), logger: TestDatabases.logger)
        let delivered = try await probe.whileRunning {
            try await eventually(timeout: .seconds(15)) {
                // At least once: the one iam.user.created event of this run (the only iam.* event published).
                try await probe.first("SELECT COUNT(*) AS n FROM probe_handled")?.int("n") ?? 0 >= 1
            }
        }
        #expect(delivered, "the other process's group got iam.user.created: \(worker.outputText.suffix(2000))")
        // The gateway's own groups carry on too: a flow started now goes through the flow repository's and
        // the orchestrator's groups to `active`, and the audit events they publish reach the chain through
        // the audit log's group (the records above were written by the decision journal, not by the bus).
        let flow = try await HTTP.request(
            .POST, "\(server.baseURL)/flows", headers: bearer + [("content-type", "application/json")], body: FlowEndToEndTests.flow)
        #expect(flow.status == 201, "\(flow.body)")
        let flowID = try #require((flow.json?["data"] as? [String: Any])?["id"] as? String)
        let start = try await HTTP.request(.POST, "\(server.baseURL)/flows/\(flowID)/start", headers: bearer + [("x-request-id", "\(prefix)-start")])
        #expect(start.status == 200, "\(start.body)")
        #expect(
            try await eventually(timeout: .seconds(15)) { try await FlowEndToEndTests.status(server, flowID, token: token) == "active" },
            "the flow became active after the restart: \(server.outputText.suffix(2000))")
        #expect(
            try await eventually(timeout: .seconds(15)) {
                Set(try await FlowEndToEndTests.chain(server, "\(prefix)-start", token: token)).isSuperset(of: [
                    "audit.flow.start_requested", "audit.flow.token_created", "audit.flow.started",
                ])
            }, "the audit log's group wrote the flow's bus events into the chain after the restart")

        // (e) Readiness went 503 during the outage, and is 200 again.
        let readyAgain = await eventually(timeout: .seconds(15)) {
            readiness.all.last.map { $0.at > back && $0.status == 200 } ?? false
        }
        readiness.stop()
        await polling
        let answers = readiness.all
        Self.writeTimeline(outcomes, readiness: answers, down: down, restarting: restarting, back: back, server: server)
        #expect(answers.contains { $0.at > down && $0.at < restarting && $0.status == 503 }, "readiness answered 503 while down")
        #expect(answers.contains { $0.at < down && $0.status == 200 })
        #expect(readyAgain, "readiness is 200 again: \(answers.suffix(5).map(\.status))")

        // (f) SIGTERM afterwards ends the process, cleanly, within its bound.
        let stopping = ContinuousClock.now
        let status = try await server.stop(timeout: .seconds(Self.shutdownTimeout + 20))
        let stopped = stopping.duration(to: .now)
        #expect(status == 0, "\(server.outputText.suffix(2000))")
        #expect(stopped < .seconds(Self.shutdownTimeout + 2), "shutdown took \(stopped)")
        try await worker.stop()
    }

    @Test(
        "the gateway killed (SIGKILL) under load: every request answered 2xx before the kill is in the chain after a restart",
        arguments: Backend.allCases)
    func gatewayKilled(backend: Backend) async throws {
        let dataDirectory = ServeEndToEndTests.temporaryDirectory()
        let (environment, created) = try await ServeEndToEndTests.environment(for: backend, dataDirectory: dataDirectory)
        defer { try? FileManager.default.removeItem(atPath: dataDirectory) }
        let location: DatabaseLocation =
            if case .postgres = created { created } else { .sqlite(path: "\(dataDirectory)/portcullis.sqlite") }

        let server = try await PortcullisProcess.start(environment: environment)
        let token = try await AuditEndToEndTests.login(server)
        let prefix = "kill-\(UUID().uuidString.prefix(8))"
        let load = LoadGenerator(prefix: prefix)
        async let loading: Void = load.run(clients: 8, url: "\(server.baseURL)/api/v1/users/me", token: token, pause: .zero)
        // Under load: killed once a good number of requests has been answered, however slow the machine.
        _ = await eventually(timeout: .seconds(30)) { load.all.filter(\.succeeded).count >= 100 }
        try await server.crash()
        load.stop()
        await loading
        let answered = Set(load.all.filter(\.succeeded).map(\.requestID))
        #expect(answered.count > 50, "the gateway was under load when killed: \(answered.count) requests answered")

        let restarted = try await PortcullisProcess.start(environment: environment)
        // Records the killed process had leased come back when their lease (30 s) expires: wait past it.
        let missing = try await Self.missingRecords(answered, location: location, prefix: prefix, timeout: .seconds(60))
        #expect(missing.isEmpty, "\(missing.count) of \(answered.count) requests answered 2xx have no record: \(missing.sorted().prefix(5))")
        let verify = try await HTTP.request(
            .GET, "\(restarted.baseURL)/logs/verify", headers: [("authorization", "Bearer \(try await AuditEndToEndTests.login(restarted))")])
        #expect((verify.json?["data"] as? [String: Any])?["ok"] as? Bool == true, "\(verify.body)")
        #expect(try await restarted.stop() == 0)
        try await TestDatabases.drop(created)
    }
}
