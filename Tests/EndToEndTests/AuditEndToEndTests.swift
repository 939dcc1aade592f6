import Foundation
import Logging
import NIOHTTP1
import PortcullisCore
import Storage
import TestSupport
import Testing

@Suite("Policies and the audit log, end to end")
struct AuditEndToEndTests {
    static func login(_ server: PortcullisProcess) async throws -> String {
        let login = try await HTTP.request(
            .POST, "\(server.baseURL)/login", headers: [("content-type", "application/json")],
            body: #"{"username":"\#(PortcullisProcess.adminUsername)","password":"\#(PortcullisProcess.adminPassword)"}"#
        )
        return try #require(login.json?["token"] as? String)
    }

    /// The policy revision in force, as a platform admin (who holds metrics.read) reads it from readiness.
    static func revision(_ server: PortcullisProcess) async throws -> String? {
        let token = try await Self.login(server)
        let ready = try await HTTP.request(.GET, "\(server.baseURL)/health/ready", headers: [("authorization", "Bearer \(token)")])
        return ((ready.json?["details"] as? [String: Any])?["policies"] as? [String: Any])?["revision"] as? String
    }

    /// A copy of the shipped policy directory that a test may edit.
    static func policyCopy() throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("policies-\(UUID().uuidString)").path
        try FileManager.default.copyItem(atPath: PortcullisProcess.policiesDirectory, toPath: directory)
        return directory
    }

    @Test("SIGHUP with a broken policy keeps serving with the old revision; a good one is taken up")
    func sighupReload() async throws {
        let dataDirectory = ServeEndToEndTests.temporaryDirectory()
        let policies = try Self.policyCopy()
        defer {
            try? FileManager.default.removeItem(atPath: dataDirectory)
            try? FileManager.default.removeItem(atPath: policies)
        }
        let server = try await PortcullisProcess.start(environment: ["PORTCULLIS_DATA_DIR": dataDirectory, "PORTCULLIS_POLICIES": policies])
        let token = try await Self.login(server)
        let before = try #require(try await Self.revision(server))

        let routes = policies + "/routes.yaml"
        let good = try String(contentsOfFile: routes, encoding: .utf8)
        try (good + "\n  - {id: broken, methods: [GET], path: /x, require: {allOf: [no.such.permission]}}\n")
            .write(toFile: routes, atomically: true, encoding: .utf8)
        server.send(signal: SIGHUP)
        let refused = await eventually(timeout: .seconds(20)) { server.outputText.contains("policy reload refused") }
        #expect(refused)
        #expect(server.outputText.contains("no.such.permission"))
        #expect(try await Self.revision(server) == before)
        let me = try await HTTP.request(.GET, "\(server.baseURL)/api/v1/users/me", headers: [("authorization", "Bearer \(token)")])
        #expect(me.status == 200)

        // A valid change: the route to verify the chain is closed to everyone.
        try good.replacingOccurrences(
            of: "{id: logs-verify, methods: [GET], path: /logs/verify, require: {allOf: [all]}}",
            with: "{id: logs-verify, methods: [GET], path: /logs/verify, require: {allOf: [iam.tenant.delete, logs.push]}}"
        ).write(toFile: routes, atomically: true, encoding: .utf8)
        server.send(signal: SIGHUP)
        let changed = try await eventually(timeout: .seconds(20)) { try await Self.revision(server) != before }
        #expect(changed)
        let verify = try await HTTP.request(.GET, "\(server.baseURL)/logs/verify", headers: [("authorization", "Bearer \(token)")])
        #expect(verify.status == 200, "the admin holds all, which grants both")
        #expect(try await server.stop() == 0)
    }

    @Test("portcullis audit verify: 0 for an intact chain, 1 naming the seq of an edited record", arguments: Backend.allCases)
    func auditVerify(backend: Backend) async throws {
        let dataDirectory = ServeEndToEndTests.temporaryDirectory()
        let (environment, created) = try await ServeEndToEndTests.environment(for: backend, dataDirectory: dataDirectory)
        defer { try? FileManager.default.removeItem(atPath: dataDirectory) }
        // SQLite lives in the data directory.
        let location = backend == .sqlite ? DatabaseLocation.sqlite(path: dataDirectory + "/portcullis.sqlite") : created
        let server = try await PortcullisProcess.start(environment: environment)
        let token = try await Self.login(server)
        let bearer = [("authorization", "Bearer \(token)")]
        for path in ["/api/v1/users/me", "/api/v1/users", "/nope", "/api/v1/tenants"] {
            _ = try await HTTP.request(.GET, "\(server.baseURL)\(path)", headers: bearer)
        }
        let stored = try await eventually {
            let logs = try await HTTP.request(.GET, "\(server.baseURL)/logs?page%5Bsize%5D=100", headers: bearer)
            return ((logs.json?["meta"] as? [String: Any])?["total"] as? Int ?? 0) >= 6
        }
        #expect(stored)
        let verify = try await HTTP.request(.GET, "\(server.baseURL)/logs/verify", headers: bearer)
        #expect(((verify.json?["data"] as? [String: Any])?["ok"] as? Bool) == true)
        #expect(try await server.stop() == 0)

        let intact = try await PortcullisProcess.run(arguments: ["audit", "verify"], environment: environment)
        #expect(intact.status == 0, "\(intact.output)")
        #expect(intact.output.contains("audit chain intact"))

        let database = try await DatabaseFactory.open(location, leaseTimeout: .seconds(60), logger: Logger(label: "test"))
        try await database.whileRunning {
            try await database.execute("UPDATE audit_records SET body = REPLACE(body, '\"outcome\":\"allow\"', '\"outcome\":\"deny\"') WHERE seq = 3")
        }
        let broken = try await PortcullisProcess.run(arguments: ["audit", "verify"], environment: environment)
        #expect(broken.status == 1, "\(broken.output)")
        #expect(broken.output.contains("broken at seq 3"))
        try await TestDatabases.drop(created)
    }

    @Test("two replicas on one PostgreSQL record every request in one gap-free chain")
    func twoReplicasOneChain() async throws {
        let dataDirectory = ServeEndToEndTests.temporaryDirectory()
        let (environment, location) = try await ServeEndToEndTests.environment(for: .postgres, dataDirectory: dataDirectory)
        defer { try? FileManager.default.removeItem(atPath: dataDirectory) }
        let replicas = [try await PortcullisProcess.start(environment: environment), try await PortcullisProcess.start(environment: environment)]
        let token = try await Self.login(replicas[0])
        let bearer = [("authorization", "Bearer \(token)")]
        let run = UUID().uuidString.prefix(8)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<60 {
                group.addTask {
                    let replica = replicas[index % 2]
                    let path = index.isMultiple(of: 3) ? "/nope" : "/api/v1/users/me"
                    _ = try await HTTP.request(.GET, "\(replica.baseURL)\(path)", headers: bearer + [("x-request-id", "two-\(run)-\(index)")])
                }
            }
            try await group.waitForAll()
        }
        // Every request's route record arrives, whichever replica served it and whichever consumed it.
        let all = try await eventually {
            var found = 0
            for index in 0..<60 {
                let logs = try await HTTP.request(
                    .GET, "\(replicas[1].baseURL)/logs?filter%5BrequestId%5D=two-\(run)-\(index)", headers: bearer)
                found += ((logs.json?["meta"] as? [String: Any])?["total"] as? Int) == 1 ? 1 : 0
            }
            return found == 60
        }
        #expect(all)
        let verify = try await HTTP.request(.GET, "\(replicas[0].baseURL)/logs/verify", headers: bearer)
        let result = verify.json?["data"] as? [String: Any]
        #expect(result?["ok"] as? Bool == true)
        #expect((result?["records"] as? Int ?? 0) >= 61)
        for replica in replicas { #expect(try await replica.stop() == 0) }
        try await TestDatabases.drop(location)
    }

    @Test(
        "portcullis policy diff: 0 for an identical candidate, 1 naming the rule and requests a candidate would refuse", arguments: Backend.allCases)
    func policyDiff(backend: Backend) async throws {
        let dataDirectory = ServeEndToEndTests.temporaryDirectory()
        let (environment, created) = try await ServeEndToEndTests.environment(for: backend, dataDirectory: dataDirectory)
        let candidate = FileManager.default.temporaryDirectory.appendingPathComponent("candidate-\(UUID().uuidString)").path
        defer {
            try? FileManager.default.removeItem(atPath: dataDirectory)
            try? FileManager.default.removeItem(atPath: candidate)
        }
        let server = try await PortcullisProcess.start(environment: environment)
        let admin = try await Self.login(server)
        // A plain user (the admin holds every permission, so no rule change refuses it but a missing route).
        let user = try await HTTP.request(
            .POST, "\(server.baseURL)/api/v1/users", headers: [("authorization", "Bearer \(admin)"), ("content-type", "application/json")],
            body: #"{"username":"diff-user","password":"diff-user-password-1"}"#)
        #expect(user.status == 201, "\(user.body)")
        let login = try await HTTP.request(
            .POST, "\(server.baseURL)/login", headers: [("content-type", "application/json")],
            body: #"{"username":"diff-user","password":"diff-user-password-1"}"#)
        let token = try #require(login.json?["token"] as? String)
        for index in 0..<3 {
            _ = try await HTTP.request(
                .GET, "\(server.baseURL)/api/v1/users/me", headers: [("authorization", "Bearer \(token)"), ("x-request-id", "diff-me-\(index)")])
        }
        #expect(try await server.stop() == 0)

        try FileManager.default.createDirectory(atPath: candidate, withIntermediateDirectories: true)
        for name in ["permissions.yaml", "roles.yaml", "routes.yaml"] {
            try FileManager.default.copyItem(atPath: "\(PortcullisProcess.policiesDirectory)/\(name)", toPath: "\(candidate)/\(name)")
        }
        let same = try await PortcullisProcess.run(arguments: ["policy", "diff", "--candidate", candidate], environment: environment)
        #expect(same.status == 0, "\(same.output)")
        #expect(same.output.contains("no recorded request would change outcome or rule"), "\(same.output)")

        // The candidate drops the own-account rule: /users/me now falls to /users/{id}, which a plain user may not read.
        let routes = try String(contentsOfFile: "\(candidate)/routes.yaml", encoding: .utf8)
        try routes.replacingOccurrences(of: "  - {id: own-account, methods: [GET, PATCH], path: /api/v1/users/me, auth: authenticated}\n", with: "")
            .write(toFile: "\(candidate)/routes.yaml", atomically: true, encoding: .utf8)
        let breaking = try await PortcullisProcess.run(
            arguments: ["policy", "diff", "--candidate", candidate, "--since", "1h", "--format", "json"], environment: environment)
        #expect(breaking.status == 1, "\(breaking.output)")
        let line = try #require(breaking.output.split(separator: "\n").last { $0.hasPrefix("{") })
        let report = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        let groups = try #require(report["groups"] as? [[String: Any]])
        let group = try #require(groups.first { $0["fromRule"] as? String == "own-account" })
        #expect(group["change"] as? String == "allow-to-deny")
        #expect(group["toRule"] as? String == "account-read")
        #expect(group["reason"] as? String == "MISSING_PERMISSION")
        #expect(group["count"] as? Int == 3)
        #expect(Set(group["requestIds"] as? [String] ?? []) == ["diff-me-0", "diff-me-1", "diff-me-2"])
        let text = try await PortcullisProcess.run(arguments: ["policy", "diff", "--candidate", candidate], environment: environment)
        #expect(text.status == 1)
        #expect(text.output.contains("allow-to-deny: 3 requests, rule own-account -> account-read (MISSING_PERMISSION)"), "\(text.output)")
        if backend == .postgres { try await TestDatabases.drop(created) }
    }

    @Test("portcullis policy test passes on the shipped policies and fails on a wrong expectation")
    func policyTest() async throws {
        let shipped = try await PortcullisProcess.run(arguments: ["policy", "test"], environment: [:])
        #expect(shipped.status == 0, "\(shipped.output)")
        #expect(shipped.output.contains("0 rules untested"))

        let tests = FileManager.default.temporaryDirectory.appendingPathComponent("policy-tests-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: tests, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: tests) }
        try """
        cases:
          - name: anonymous callers may create tenants
            method: POST
            path: /api/v1/tenants
            expect: {outcome: allow, rule: tenants-create}
        """.write(toFile: tests + "/wrong.yaml", atomically: true, encoding: .utf8)
        let failing = try await PortcullisProcess.run(arguments: ["policy", "test", "--tests", tests], environment: [:])
        #expect(failing.status == 1)
        #expect(failing.output.contains("FAIL"))
        #expect(failing.output.contains("expected allow by tenants-create, got deny by tenants-create (UNAUTHENTICATED)"))

        try "cases: nope".write(toFile: tests + "/wrong.yaml", atomically: true, encoding: .utf8)
        let invalid = try await PortcullisProcess.run(arguments: ["policy", "test", "--tests", tests], environment: [:])
        #expect(invalid.status == 2)
    }
}
