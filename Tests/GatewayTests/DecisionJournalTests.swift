import AuditLog
import Foundation
import Gateway
import GatewayKit
import GatewayTestSupport
import Messaging
import PortcullisCore
import Storage
import Synchronization
import TestSupport
import Testing

@Suite("The decision journal")
struct DecisionJournalTests {
    static func decision(_ index: Int) -> PreparedRecord {
        PreparedRecord.decision(
            at: Date(), requestID: "request-\(index)", stage: "route", outcome: "allow", reason: "ALLOWED", permission: nil, rule: "r",
            policyRevision: "p", actor: AuditActor(nil), resource: AuditResource(method: "GET", path: "/\(index)"),
            client: AuditClient(ip: "127.0.0.1", userAgent: nil))
    }

    /// A migrated database with the audit chain on it.
    static func withChain(_ body: @Sendable (AuditChain, any Database) async throws -> Void) async throws {
        try await TestDatabases.withDatabase(.sqlite) { database in
            try await MigrationRunner(database: database, migrations: MessagingMigrations.all + AuditMigrations.all, logger: TestDatabases.logger)
                .migrate()
            try await body(
                AuditChain(database: database, key: MasterKey(base64: TestDatabases.masterKey)!.derived(for: AuditLog.keyPurpose)), database)
        }
    }

    @Test("records waiting while a commit runs share the next commit (group commit), and all are durable")
    func groupCommit() async throws {
        try await Self.withChain { chain, database in
            let journal = DecisionJournal(log: chain, timeout: .seconds(30), logger: TestDatabases.logger)
            let gate = AsyncStream.makeStream(of: Void.self)
            let holding = AsyncStream.makeStream(of: Void.self)
            try await withServices([journal]) {
                #expect(try await eventually { journal.isAccepting })
                try await withThrowingTaskGroup(of: Void.self) { group in
                    // Hold SQLite's only connection, so that the journal's commits must wait.
                    group.addTask {
                        try await database.transaction { _ in
                            holding.continuation.yield()
                            for await _ in gate.stream { break }
                        }
                    }
                    for await _ in holding.stream { break }
                    for index in 0..<20 {
                        group.addTask { try await journal.record(Self.decision(index)) }
                    }
                    // Every record is now queued or in a commit that waits for the connection.
                    #expect(try await eventually { journal.waitingCount == 20 })
                    gate.continuation.yield()
                    try await group.waitForAll()
                }
            }
            let statistics = journal.statistics
            #expect(statistics.records == 20)
            #expect(statistics.commits <= 2)
            // In the chain itself, in no second pass: linked and verifiable as they are.
            let stored = try await database.first("SELECT COUNT(*) AS n FROM audit_records").map { try $0.int("n") }
            #expect(stored == 20)
            #expect(try await chain.verify().ok)
        }
    }

    /// A decision log whose append of `stuckRequest`'s record never returns until released, and ignores
    /// cancellation meanwhile (a statement on a connection whose server died); other appends are kept.
    final class StuckOnceLog: DecisionLog, Sendable {
        private struct State {
            var stuck: CheckedContinuation<Void, Never>?
            var released = false
            var appended: [String] = []
        }
        private let state = Mutex(State())
        let stuckRequest: String

        init(stuckRequest: String) {
            self.stuckRequest = stuckRequest
        }

        var appended: [String] { self.state.withLock { $0.appended } }
        var isStuck: Bool { self.state.withLock { $0.stuck != nil } }

        func append(decisions records: [PreparedRecord]) async throws {
            if records.contains(where: { $0.requestID == self.stuckRequest }) {
                await withCheckedContinuation { continuation in
                    let released = self.state.withLock { state in
                        if !state.released { state.stuck = continuation }
                        return state.released
                    }
                    if released { continuation.resume() }
                }
                return
            }
            self.state.withLock { $0.appended += records.map { "\($0)" } }
        }

        func release() {
            let stuck = self.state.withLock { state in
                state.released = true
                defer { state.stuck = nil }
                return state.stuck
            }
            stuck?.resume()
        }
    }

    @Test("a commit stuck past its deadline is abandoned: its records are refused, and the next batches commit meanwhile")
    func stuckCommit() async throws {
        let log = StuckOnceLog(stuckRequest: "request-0")
        defer { log.release() }
        let journal = DecisionJournal(log: log, timeout: .seconds(2), logger: TestDatabases.logger)
        try await withServices([journal]) {
            #expect(try await eventually { journal.isAccepting })
            await #expect(throws: DecisionJournal.Unavailable.self) { try await journal.record(Self.decision(0)) }
            #expect(try await eventually { log.isStuck }, "the first commit still hangs")
            for index in 1...3 {
                try await journal.record(Self.decision(index))
            }
            #expect(log.appended.count == 3, "the later records were committed while the first commit hangs")
            #expect(log.isStuck)
            #expect(journal.statistics.failures == 1)
        }
    }

    @Test("a journal that is not running, or cannot write, refuses records")
    func refuses() async throws {
        try await Self.withChain { chain, database in
            let journal = DecisionJournal(log: chain, logger: TestDatabases.logger)
            await #expect(throws: DecisionJournal.Unavailable.self) { try await journal.record(Self.decision(0)) }
            try await database.execute("DROP TABLE audit_records")
            try await withServices([journal]) {
                #expect(try await eventually { journal.isAccepting })
                await #expect(throws: DecisionJournal.Unavailable.self) { try await journal.record(Self.decision(1)) }
            }
            #expect(journal.statistics.failures == 1)
        }
    }
}

@Suite("Audit readiness")
struct AuditReadinessTests {
    @Test("readiness fails, naming the problem, while audit records wait longer than the allowed lag, and passes again once they are gone")
    func lagThreshold() async throws {
        try await TestDatabases.withDatabase(.sqlite) { database in
            try await MigrationRunner(database: database, migrations: MessagingMigrations.all + AuditMigrations.all, logger: TestDatabases.logger)
                .migrate()
            let clock = TestClock()
            let messaging = Messaging(database: database, clock: clock.wallClock, logger: TestDatabases.logger)
            try await messaging.bus.bind(group: "audit", patterns: ["audit.#"])
            let chain = AuditChain(database: database, key: MasterKey(base64: TestDatabases.masterKey)!.derived(for: AuditLog.keyPurpose))
            let journal = DecisionJournal(log: chain, timeout: .seconds(30), logger: TestDatabases.logger)
            let check = AuditReadiness(journal: journal, store: messaging.store, clock: clock.wallClock, maxLag: .seconds(1))
            try await withServices([journal]) {
                #expect(try await eventually { journal.isAccepting })
                #expect(await check.check().ready, "nothing waits yet")
                // No audit consumer runs: an audit event on the bus waits, and after the allowed lag readiness fails.
                try await messaging.bus.publish(
                    try Event(name: "audit.iam.login", serviceName: "iam", payload: ["outcome": "success"] as JSONValue, now: clock.wallClock.now))
                #expect(await check.check().ready, "within the allowed lag")
                clock.advance(by: 1.5)
                let late = await check.check()
                #expect(late.ready == false)
                #expect(late.info["problem"]?.stringValue?.contains("wait longer than 1 s") == true)
                // The consumer catches up (here: the record is taken off the queue), and readiness passes again.
                try await database.execute("DELETE FROM bus_messages")
                #expect(await check.check().ready)
            }
        }
    }
}
