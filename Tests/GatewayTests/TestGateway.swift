import Foundation
import Gateway
import GatewayKit
import GatewayTestSupport
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Policy
import PortcullisCore
import Storage
import TestSupport

/// A body used by the test-only routes that exercise JSON input handling.
struct Widget: Codable, Sendable, ResponseEncodable {
    var name: String
    var count: Int
    var tags: [String]?
}

struct UnexpectedFailure: Error {
    let secret = "sql: SELECT * FROM secrets WHERE token = 'abc'"
}

/// A module that exists only in these tests: it brings test routes (covered by the rules of
/// ``testPoliciesDirectory``) and readiness checks a test chooses, through the same seam as every module.
struct TestRoutesModule: GatewayModule {
    static let name = "test-routes"
    static let migrations: [Migration] = []

    /// The readiness checks the next assembly built in this task gets.
    @TaskLocal static var checks: [any ReadinessCheck] = []

    let readinessChecks: [any ReadinessCheck]
    let database: any Database

    init(environment: ModuleEnvironment) {
        self.readinessChecks = Self.checks
        self.database = environment.database
    }

    /// How many records of this request the chain holds when the handler starts.
    func recordsAtStart(_ context: GatewayRequestContext) async throws -> JSONValue {
        let count = try await self.database.first("SELECT COUNT(*) AS n FROM audit_records WHERE request_id = \(context.requestID.value)")?.int("n")
        return ["recordsAtStart": .int(count ?? -1)]
    }

    func registerRoutes(on routes: RouteRegistry) {
        routes.post("/test/widgets") { request, context in
            try await JSONBody.decode(Widget.self, from: request, context: context)
        }
        routes.get("/test/widgets/{id}") { _, context in
            Widget(name: context.parameters.get("id") ?? "", count: 1)
        }
        routes.delete("/test/widgets/{id}") { _, _ in
            HTTPResponse.Status.noContent
        }
        routes.get("/test/widgets/latest") { _, _ in
            Widget(name: "latest", count: 1)
        }
        routes.get("/test/failure") { _, _ -> Widget in
            throw UnexpectedFailure()
        }
        // What each kind of handler finds of its own route record when it starts.
        routes.read("/test/effects/read") { _, context in try await self.recordsAtStart(context) }
        routes.get("/test/effects/get") { _, context in try await self.recordsAtStart(context) }
        // A read that swallows the failure of its check (the chain's table is away while it records).
        routes.read("/test/effects/swallow") { _, context in
            try await self.database.execute("ALTER TABLE audit_records RENAME TO audit_records_away")
            _ = try? await context.decisions.record(
                Decision(outcome: .allow, reason: "ALLOWED", policyRevision: "test"), about: nil,
                resource: ResourceRef(type: "widget", id: "w1", tenant: nil))
            try await self.database.execute("ALTER TABLE audit_records_away RENAME TO audit_records")
            return Widget(name: "answered without a record", count: 1)
        }
        routes.post("/test/effects/act") { _, context in try await self.recordsAtStart(context) }
        routes.on("/test/effects/hook", method: .get) { _, context in try await self.recordsAtStart(context) }
    }
}

/// The shipped policy files plus public rules for the test routes. Two rules name a method no route
/// serves (DELETE on /test/widgets, POST on /test/widgets/{id}): the policy lets them through, and the
/// router answers 405, which is how `serve` answers a method a rule allows and no module serves. The
/// literal /test/widgets/latest (GET only) sits next to /test/widgets/{id} (GET, DELETE), as /users/me
/// sits next to /users/{id}.
let testPoliciesDirectory: String = {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("portcullis-test-policies-\(UUID().uuidString)").path
    try! FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    for file in ["permissions.yaml", "roles.yaml", "routes.yaml"] {
        try! FileManager.default.copyItem(atPath: "\(PortcullisProcess.policiesDirectory)/\(file)", toPath: "\(directory)/\(file)")
    }
    let rules = """

          # Test-only routes (GatewayTests)
          - {id: test-widgets, methods: [POST, DELETE], path: /test/widgets, auth: public}
          - {id: test-widget, methods: [GET, POST, DELETE], path: "/test/widgets/{id}", auth: public}
          - {id: test-failure, methods: [GET], path: /test/failure, auth: public}
          - {id: test-effects, methods: [GET, POST], path: "/test/effects/{kind}", auth: public}

        """
    let handle = FileHandle(forWritingAtPath: "\(directory)/routes.yaml")!
    handle.seekToEndOfFile()
    handle.write(Data(rules.utf8))
    try! handle.close()
    return directory
}()

/// Builds the gateway as `serve` does (every module, the access step, the decision journal, on a fresh
/// SQLite database) plus ``TestRoutesModule``, and runs `body` against it in-process.
func withTestGateway<Result: Sendable>(
    maxBodyBytes: Int = 1024,
    checks: [any ReadinessCheck] = [],
    _ body: @Sendable (any TestClientProtocol) async throws -> Result
) async throws -> Result {
    let configuration = {
        var configuration = testConfiguration()
        configuration.maxBodyBytes = maxBodyBytes
        return configuration
    }()
    return try await TestDatabases.withDatabase(.sqlite) { database in
        // Renamed: the assembly's own checks are called database, migrations, bus... and names are unique.
        try await TestRoutesModule.$checks.withValue(checks.map { RenamedCheck(name: "test-" + $0.name, inner: $0) }) {
            try await withAssembledGateway(
                database: database, configuration: configuration, policiesDirectory: testPoliciesDirectory,
                modules: Modules.all + [TestRoutesModule.self]
            ) { _, client in
                try await body(client)
            }
        }
    }
}

/// A readiness check with a fixed answer.
struct FixedCheck: ReadinessCheck {
    let name: String
    let ready: Bool
    func check() async -> ReadinessResult { ReadinessResult(ready: self.ready) }
}

/// `check` reported under another name.
struct RenamedCheck: ReadinessCheck {
    let name: String
    let inner: any ReadinessCheck
    func check() async -> ReadinessResult { await self.inner.check() }
}
