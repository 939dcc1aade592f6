import AuditLog
import FlowRepository
import Foundation
import GatewayTestSupport
import HTTPTypes
import HummingbirdTesting
import PortcullisCore
import Storage
import Synchronization
import TestSupport
import Testing

/// The statements a task ran through a ``RecordingDatabase``, while it was listening.
final class StatementLog: Sendable {
    @TaskLocal static var current: StatementLog?

    private let statements = Mutex<[SQLQuery]>([])

    var recorded: [SQLQuery] { self.statements.withLock { $0 } }

    func append(_ query: SQLQuery) {
        self.statements.withLock { $0.append(query) }
    }
}

/// A real database that notes every statement run by a task listening with ``StatementLog/current``.
/// Services running beside the test (the decision journal, the bus consumers) do not listen, so only the
/// request's own statements are noted.
struct RecordingDatabase: Database {
    let inner: any Database
    var dialect: SQLDialect { self.inner.dialect }

    struct Connection: DatabaseConnection {
        let inner: any DatabaseConnection
        var dialect: SQLDialect { self.inner.dialect }

        func query(_ query: SQLQuery) async throws -> [SQLRow] {
            StatementLog.current?.append(query)
            return try await self.inner.query(query)
        }
    }

    func withConnection<Result: Sendable>(_ body: (any DatabaseConnection) async throws -> Result) async throws -> Result {
        try await self.inner.withConnection { try await body(Connection(inner: $0)) }
    }

    func transaction<Result: Sendable>(_ body: (any DatabaseConnection) async throws -> Result) async throws -> Result {
        try await self.inner.transaction { try await body(Connection(inner: $0)) }
    }

    func ping() async throws { try await self.inner.ping() }

    func notify(channel: String, payload: String, on connection: any DatabaseConnection) async throws {
        try await self.inner.notify(channel: channel, payload: payload, on: (connection as? Connection)?.inner ?? connection)
    }

    func listen(channel: String, _ handler: @escaping @Sendable (String) -> Void) async throws {
        try await self.inner.listen(channel: channel, handler)
    }

    func run() async throws {}
}

/// What a statement's plan says about how it reads its tables.
enum QueryPlan {
    /// The plan of `query` on `database`, one line per node. On PostgreSQL sequential scans are switched off
    /// for the look, so a `Seq Scan` in the plan means no index can answer the statement at all.
    static func lines(of query: SQLQuery, on database: any Database) async throws -> [String] {
        switch database.dialect {
        case .sqlite:
            return try await database.query("EXPLAIN QUERY PLAN " + query).map { try $0.string("detail") }
        case .postgres:
            return try await database.transaction { connection in
                try await connection.execute("SET LOCAL enable_seqscan = off")
                return try await connection.query("EXPLAIN " + query).map { try $0.string("QUERY PLAN") }
            }
        }
    }

    /// The lines that read a whole table: SQLite's `SCAN <table>` (a scan of an index is `SCAN ... USING`),
    /// PostgreSQL's `Seq Scan`.
    static func scans(in lines: [String]) -> [String] {
        lines.filter { line in
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            return trimmed.hasPrefix("SCAN ") && !trimmed.contains(" USING ") || trimmed.contains("Seq Scan")
        }
    }
}

@Suite("The hot path's statements")
struct HotPathPlanTests {
    @Test(
        "with every cache warm, GET /flows/{id} runs one statement besides its decision batch, and no statement of the path scans a table",
        arguments: Backend.allCases)
    func warmFlowRead(backend: Backend) async throws {
        try await withIdentityGateway(backend, wrapDatabase: { RecordingDatabase(inner: $0) }) { env in
            let admin = try await env.adminToken()
            let id = try #require(try await env.createFlow(token: admin)["id"]?.stringValue)
            #expect(try await env.call(.get, "/flows/\(id)", token: admin).status == .ok)  // the token's cache entry

            let warm = StatementLog()
            let response = try await StatementLog.$current.withValue(warm) {
                try await env.call(.get, "/flows/\(id)", token: admin)
            }
            #expect(response.status == .ok)
            #expect(response.json?["data"]?["id"]?.stringValue == id)
            #expect(response.json?["data"]?["owners"]?.arrayValue?.count == 1)
            #expect(warm.recorded.count == 1, "statements: \(warm.recorded.map(\.description))")

            // A token seen for the first time: verified and its account loaded, each by key.
            let user = try await env.user("plan-reader", tenant: nil, roles: ["ADMIN"])
            let cold = StatementLog()
            _ = try await StatementLog.$current.withValue(cold) {
                try await env.call(.get, "/flows/\(id)", token: user.token)
            }
            #expect(cold.recorded.count > warm.recorded.count)

            // The decision batch's statements are the chain's head read and the multi-row insert.
            for query in warm.recorded + cold.recorded + [AuditChain.headQuery, FlowStore.findQuery(id: id, locking: false)] {
                let plan = try await QueryPlan.lines(of: query, on: env.database)
                #expect(!plan.isEmpty, "no plan for \(query)")
                #expect(QueryPlan.scans(in: plan).isEmpty, "\(query)\n\(plan.joined(separator: "\n"))")
            }
        }
    }

    @Test("the plan check sees a scan when there is one", arguments: Backend.allCases)
    func scanIsSeen(backend: Backend) async throws {
        try await TestDatabases.withDatabase(backend) { database in
            try await MigrationRunner(database: database, migrations: FlowMigrations.all, logger: TestDatabases.logger).migrate()
            let plan = try await QueryPlan.lines(of: "SELECT id FROM flows WHERE name = \("x")", on: database)
            #expect(QueryPlan.scans(in: plan).count == 1, "\(plan)")
        }
    }
}
