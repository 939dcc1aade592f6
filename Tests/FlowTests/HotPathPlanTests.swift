import AuditLog
import Foundation
import GatewayTestSupport
import HTTPTypes
import HummingbirdTesting
import PortcullisCore
import Storage
import Synchronization
import TestSupport
import Testing

@testable import FlowRepository

/// The statements a task ran through a database recording them (``recording(_:)``), while it was listening.
/// Services running beside the test (the decision journal, the bus consumers) do not listen, so only the
/// request's own statements are noted.
final class StatementLog: Sendable {
    @TaskLocal static var current: StatementLog?

    private let statements = Mutex<[SQLQuery]>([])

    var recorded: [SQLQuery] { self.statements.withLock { $0 } }

    func append(_ query: SQLQuery) {
        self.statements.withLock { $0.append(query) }
    }

    /// `database`, noting each statement in the listening task's log.
    static func recording(_ database: any Database) -> any Database {
        ObservedDatabase(inner: database, hooks: .init(beforeStatement: { StatementLog.current?.append($0) }))
    }
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

    /// The lines that read a whole table or index instead of looking keys up: SQLite's `SCAN` (of a table,
    /// or of an index from end to end), PostgreSQL's `Seq Scan`, and an index scan without an `Index Cond`
    /// (with sequential scans off, the planner walks a whole index rather than scan the table).
    static func scans(in lines: [String]) -> [String] {
        var found: [String] = []
        for (index, line) in lines.enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "->  ", with: "")
            if trimmed.hasPrefix("SCAN ") && trimmed != "SCAN CONSTANT ROW" || trimmed.contains("Seq Scan") {
                found.append(line)
            } else if trimmed.contains("Index Scan") || trimmed.contains("Index Only Scan") {
                // The node's details follow on the lines up to the next node ("->").
                let details = lines[(index + 1)...].prefix { !$0.contains("->") }
                if !details.contains(where: { $0.contains("Index Cond:") }) { found.append(line) }
            }
        }
        return found
    }
}

@Suite("The hot path's statements")
struct HotPathPlanTests {
    @Test(
        "with every cache warm, GET /flows/{id} runs no statement besides its decision batch, one when the flow is not cached, and no statement of the path scans a table",
        arguments: Backend.allCases)
    func warmFlowRead(backend: Backend) async throws {
        try await withIdentityGateway(backend, wrapDatabase: StatementLog.recording) { env in
            let admin = try await env.adminToken()
            let id = try #require(try await env.createFlow(token: admin)["id"]?.stringValue)
            // Warm: the token's and the flow's cache entries. Each listener empties its cache once when it
            // (re)connects, which may happen after the first request; so read until a request finds them warm.
            var warm = StatementLog()
            var response: TestResponse?
            for _ in 0..<20 {
                warm = StatementLog()
                response = try await StatementLog.$current.withValue(warm) { try await env.call(.get, "/flows/\(id)", token: admin) }
                if warm.recorded.isEmpty { break }
            }
            #expect(response?.status == .ok)
            #expect(response?.json?["data"]?["id"]?.stringValue == id)
            #expect(response?.json?["data"]?["owners"]?.arrayValue?.count == 1)
            #expect(warm.recorded.map(\.description) == [])

            // The flow dropped from the cache (as a change would): its one statement is the flow's own lookup.
            let flows = try #require(env.modules.compactMap { $0 as? FlowModule }.first)
            flows.store.cache.invalidate(id)
            let uncached = StatementLog()
            let reread = try await StatementLog.$current.withValue(uncached) { try await env.call(.get, "/flows/\(id)", token: admin) }
            #expect(reread.json?["data"]?["id"]?.stringValue == id)
            #expect(uncached.recorded.map(\.description) == [FlowStore.findQuery(id: id).description])

            // A token seen for the first time: verified and its account loaded, each by key.
            let user = try await env.user("plan-reader", tenant: nil, roles: ["ADMIN"])
            let cold = StatementLog()
            _ = try await StatementLog.$current.withValue(cold) {
                try await env.call(.get, "/flows/\(id)", token: user.token)
            }
            #expect(!cold.recorded.isEmpty)
            #expect(!cold.recorded.map(\.description).contains(FlowStore.findQuery(id: id).description), "the flow came from the cache")

            // The decision batch's statements are the chain's head read and the multi-row insert, or on SQLite
            // the insert guarded by the head it remembers.
            let guarded: SQLQuery = "SELECT 1 AS still WHERE \(AuditChain.stillLast((seq: 1, hash: AuditChain.genesis)))"
            for query in uncached.recorded + cold.recorded + [AuditChain.headQuery, guarded, FlowStore.findQuery(id: id)] {
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
            // A table scan, and a whole-index scan (what `ORDER BY ... LIMIT 1` or a count may plan as).
            for query: SQLQuery in [
                "SELECT id FROM flows WHERE name = \("x")", "SELECT COUNT(*) AS n FROM flows", "SELECT id FROM flows ORDER BY id LIMIT 1",
            ] {
                let plan = try await QueryPlan.lines(of: query, on: database)
                #expect(QueryPlan.scans(in: plan).count == 1, "\(query)\n\(plan.joined(separator: "\n"))")
            }
        }
    }
}
