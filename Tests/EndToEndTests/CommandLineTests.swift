import Foundation
import TestSupport
import Testing

@Suite("portcullis command line")
struct CommandLineTests {
    @Test(
        "an invalid setting stops start-up with one line naming it and exit status 2",
        arguments: [
            (["PORTCULLIS_PORT": "eighty"], [String](), "PORTCULLIS_PORT"),
            (["PORTCULLIS_LOG_LEVEL": "chatty"], [], "PORTCULLIS_LOG_LEVEL"),
            (["PORTCULLIS_MAX_BODY_BYTES": "-5"], [], "PORTCULLIS_MAX_BODY_BYTES"),
            (["DATABASE_URL": "postgres://user:supersecret@/x"], [], "DATABASE_URL"),
            ([:], ["--port", "99999"], "--port"),
        ]
    )
    func invalidSetting(environment: [String: String], flags: [String], name: String) async throws {
        let (status, output) = try await PortcullisProcess.run(arguments: ["serve"] + flags, environment: environment)
        #expect(status == 2)
        let lines = output.split(separator: "\n")
        #expect(lines.count == 1, "expected one line, got: \(output)")
        #expect(lines.first?.hasPrefix("portcullis: invalid \(name): ") == true)
        #expect(!output.contains("supersecret"))
    }

    @Test("an unreachable database stops start-up with a clear line and exit status 1")
    func unreachableDatabase() async throws {
        let (status, output) = try await PortcullisProcess.run(
            arguments: ["serve"],
            environment: [
                "DATABASE_URL": "postgres://portcullis:pw-not-shown@127.0.0.1:1/none?sslmode=disable",
                "PORTCULLIS_MASTER_KEY": TestDatabases.masterKey,
            ]
        )
        #expect(status == 1)
        #expect(output.contains("portcullis: database unavailable: cannot connect to postgres://portcullis:***@127.0.0.1:1/none"))
        #expect(!output.contains("pw-not-shown"))
    }

    @Test("migrate applies migrations and exits 0, on SQLite and PostgreSQL", arguments: Backend.allCases)
    func migrate(backend: Backend) async throws {
        let dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("portcullis-migrate-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dataDirectory) }
        let location = try await TestDatabases.create(backend)
        var environment = try TestDatabases.environment(for: location)
        environment["PORTCULLIS_DATA_DIR"] = dataDirectory
        let first = try await PortcullisProcess.run(arguments: ["migrate"], environment: environment)
        #expect(first.status == 0, "\(first.output)")
        let second = try await PortcullisProcess.run(arguments: ["migrate"], environment: environment)
        #expect(second.status == 0)
        #expect(second.output.contains("database is up to date"))
        try await TestDatabases.drop(location)
    }

    @Test("--help lists the subcommands")
    func help() async throws {
        let (status, output) = try await PortcullisProcess.run(arguments: ["--help"], environment: [:])
        #expect(status == 0)
        #expect(output.contains("serve"))
        #expect(output.contains("migrate"))
    }
}
