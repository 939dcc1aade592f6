import Foundation
import NIOHTTP1
import PortcullisCore
import Storage
import TestSupport
import Testing

/// Starts the real `portcullis` binary and talks to it over HTTP.
@Suite("portcullis serve, end to end")
struct ServeEndToEndTests {
    /// The environment that points a fresh `portcullis` at a fresh database of `backend`.
    static func environment(for backend: Backend, dataDirectory: String) async throws -> (env: [String: String], location: DatabaseLocation) {
        let location = try await TestDatabases.create(backend)
        var environment = try TestDatabases.environment(for: location)
        environment["PORTCULLIS_DATA_DIR"] = dataDirectory
        return (environment, location)
    }

    static func temporaryDirectory() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("portcullis-e2e-\(UUID().uuidString)").path
    }

    @Test("serve answers ready, 404 envelopes and 400 for hostile paths, then stops cleanly on SIGTERM", arguments: Backend.allCases)
    func serve(backend: Backend) async throws {
        let dataDirectory = Self.temporaryDirectory()
        let (environment, location) = try await Self.environment(for: backend, dataDirectory: dataDirectory)
        defer { try? FileManager.default.removeItem(atPath: dataDirectory) }

        let server = try await PortcullisProcess.start(environment: environment)
        let ready = try await HTTP.request(.GET, "\(server.baseURL)/health/ready")
        #expect(ready.status == 200)
        #expect(ready.json?["status"] as? String == "pass")
        #expect(ready.json?["details"] == nil, "anonymous readiness answers the status alone")
        let revision = try await AuditEndToEndTests.revision(server)
        #expect(revision?.count == 16, "the policy revision is reported to a caller with metrics.read")

        let missing = try await HTTP.request(.GET, "\(server.baseURL)/nope")
        #expect(missing.status == 404)
        #expect(missing.firstErrorReason == "NO_ROUTE")
        #expect(missing.headers.first(name: "x-request-id")?.isEmpty == false)

        let hostile = try await HTTP.request(.GET, "\(server.baseURL)/a/..%2Fb")
        #expect(hostile.status == 400)
        #expect(hostile.firstErrorReason == "INVALID_PATH")

        #expect(try await server.stop() == 0)
        if backend == .sqlite {
            let attributes = try FileManager.default.attributesOfItem(atPath: dataDirectory)
            #expect((attributes[.posixPermissions] as? Int) == 0o700)
            #expect(FileManager.default.fileExists(atPath: "\(dataDirectory)/portcullis.sqlite"))
        }
        try await TestDatabases.drop(location)
    }

    @Test("SIGINT also stops the server with exit status 0")
    func sigint() async throws {
        let dataDirectory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dataDirectory) }
        let server = try await PortcullisProcess.start(environment: ["PORTCULLIS_DATA_DIR": dataDirectory])
        #expect(try await server.stop(signal: SIGINT) == 0)
    }

    @Test("a shutdown that cannot finish within its bound names what it waited for and exits 1")
    func shutdownBound() async throws {
        let dataDirectory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dataDirectory) }
        let server = try await PortcullisProcess.start(environment: [
            "PORTCULLIS_DATA_DIR": dataDirectory, "PORTCULLIS_SHUTDOWN_TIMEOUT": "1s", "PORTCULLIS_AUDIT_WRITE_TIMEOUT": "20s",
        ])
        let token = try await AuditEndToEndTests.login(server)
        // Another process takes SQLite's write lock and keeps it: the next request's decision record waits
        // for it (busy timeout), so that request is still in flight, its record committing, when SIGTERM arrives.
        let location = DatabaseLocation.sqlite(path: "\(dataDirectory)/portcullis.sqlite")
        let holder = try await DatabaseFactory.open(location, maximumConnections: 1, leaseTimeout: .seconds(30), logger: TestDatabases.logger)
        let gate = AsyncStream.makeStream(of: Void.self)
        let holding = AsyncStream.makeStream(of: Void.self)
        async let held: Void = holder.whileRunning {
            try await holder.transaction { connection in
                try await connection.execute("CREATE TABLE IF NOT EXISTS lock_holder (x INTEGER)")
                holding.continuation.yield()
                for await _ in gate.stream { break }
            }
        }
        for await _ in holding.stream { break }
        async let request = try? HTTP.request(.GET, "\(server.baseURL)/api/v1/users/me", headers: [("authorization", "Bearer \(token)")])
        try await Task.sleep(for: .seconds(1))
        let stopping = ContinuousClock.now
        let status = try await server.stop(timeout: .seconds(30))
        let took = stopping.duration(to: .now)
        gate.continuation.yield()
        _ = await request
        try await held
        #expect(status == 1, "\(server.outputText.suffix(2000))")
        #expect(took < .seconds(10), "the bound is 1 s; the process took \(took)")
        #expect(server.outputText.contains("shutdown did not finish within its bound"), "\(server.outputText.suffix(2000))")
        // What it waited for: the request in flight is counted when it reached the journal in time, which a
        // loaded machine does not promise; the sentence is there either way.
        #expect(server.outputText.contains("decision records committing"), "it says what it was waiting for: \(server.outputText.suffix(2000))")
    }

    @Test("PostgreSQL over TCP with a password in the URL")
    func postgresTCP() async throws {
        let location = try await TestDatabases.create(.postgres)
        var environment = try TestDatabases.environment(for: location, overTCP: true)
        let url = try #require(environment["DATABASE_URL"])
        environment["PORTCULLIS_DATA_DIR"] = Self.temporaryDirectory()
        let server = try await PortcullisProcess.start(environment: environment)
        let ready = try await HTTP.request(.GET, "\(server.baseURL)/health/ready")
        #expect(ready.status == 200)
        #expect(try await server.stop() == 0)
        #expect(!server.outputText.contains(url), "the log must never contain the database password")
        try await TestDatabases.drop(location)
    }

    @Test("two replicas starting at once against one PostgreSQL both become ready")
    func twoReplicas() async throws {
        let dataDirectory = Self.temporaryDirectory()
        let (environment, location) = try await Self.environment(for: .postgres, dataDirectory: dataDirectory)
        async let first = PortcullisProcess.start(environment: environment)
        async let second = PortcullisProcess.start(environment: environment)
        let replicas = try await [first, second]
        for replica in replicas {
            let ready = try await HTTP.request(.GET, "\(replica.baseURL)/health/ready")
            #expect(ready.status == 200)
        }
        for replica in replicas {
            #expect(try await replica.stop() == 0)
        }
        try await TestDatabases.drop(location)
    }

    @Test("with JSON logs every line is a JSON object and the request log carries the request id")
    func jsonLogs() async throws {
        let dataDirectory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dataDirectory) }
        let server = try await PortcullisProcess.start(environment: ["PORTCULLIS_DATA_DIR": dataDirectory])
        _ = try await HTTP.request(.GET, "\(server.baseURL)/health/live", headers: [("x-request-id", "e2e-trace-7")])
        #expect(try await server.stop() == 0)
        let lines = server.outputText.split(separator: "\n")
        #expect(!lines.isEmpty)
        for line in lines {
            #expect((try? JSONSerialization.jsonObject(with: Data(line.utf8))) is [String: Any], "not a JSON object: \(line)")
        }
        #expect(lines.contains { $0.contains("\"hb.request.id\":\"e2e-trace-7\"") && $0.contains("\"http.path\":\"/health/live\"") })
    }
}
