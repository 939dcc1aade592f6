import Foundation
import Storage
import Synchronization
import TestSupport
import Testing

/// Keyed locks (a flow's lifecycle lock) on PostgreSQL: fair between shared and exclusive holders, where a
/// row's lock is not. (On SQLite `hold` takes nothing: one transaction runs at a time, first come first
/// served; see `AsyncLockTests`.)
@Suite("Keyed locks")
struct KeyedLockTests {
    /// What concurrent transactions did, in order.
    final class Steps: Sendable {
        private let steps = Mutex<[String]>([])
        var all: [String] { self.steps.withLock { $0 } }
        func append(_ step: String) { self.steps.withLock { $0.append(step) } }
    }

    /// Holder A takes `share` and keeps it until told; then B asks for `exclusive` and waits for A; then C asks
    /// for `share` again, which waits too (`secondShareWaits`) or is granted beside A's. Returns the order in
    /// which B ("exclusive") and C ("share") got theirs once A let go.
    static func order(
        on database: any Database, secondShareWaits: Bool, waiting: @escaping @Sendable () async throws -> Int,
        share: @escaping @Sendable (any DatabaseConnection) async throws -> Void,
        exclusive: @escaping @Sendable (any DatabaseConnection) async throws -> Void
    ) async throws -> [String] {
        let steps = Steps()
        let (release, releaseA) = AsyncStream.makeStream(of: Void.self)
        let (held, heldA) = AsyncStream.makeStream(of: Void.self)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await database.transaction { connection in
                    try await share(connection)
                    heldA.yield()
                    for await _ in release { break }
                }
            }
            for await _ in held { break }
            group.addTask {
                try await database.transaction { connection in
                    try await exclusive(connection)
                    steps.append("exclusive")
                }
            }
            #expect(try await eventually { try await waiting() == 1 }, "the exclusive request waits for A")
            group.addTask {
                try await database.transaction { connection in
                    try await share(connection)
                    steps.append("share")
                }
            }
            // Either the second share waits too (behind the exclusive request), or it is granted beside A's.
            if secondShareWaits {
                #expect(try await eventually { try await waiting() == 2 }, "the later share waits behind the exclusive request")
            } else {
                #expect(try await eventually { steps.all == ["share"] }, "the later share is granted beside A's")
            }
            releaseA.finish()
            try await group.waitForAll()
        }
        return steps.all
    }

    @Test("a shared request waits behind a waiting exclusive one, where a row's FOR SHARE passes a waiting FOR UPDATE")
    func sharedWaitsBehindExclusive() async throws {
        try await TestDatabases.withDatabase(.postgres) { database in
            let advisoryWaits: @Sendable () async throws -> Int = {
                let query: SQLQuery = """
                    SELECT COUNT(*) AS n FROM pg_locks
                    WHERE locktype = 'advisory' AND NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
                    """
                return Int(try await database.first(query)?.int("n") ?? 0)
            }
            let fair = try await Self.order(
                on: database, secondShareWaits: true, waiting: advisoryWaits,
                share: { try await $0.hold(.flowLifecycle, key: "f", mode: .shared) },
                exclusive: { try await $0.hold(.flowLifecycle, key: "f", mode: .exclusive) })
            #expect(fair == ["exclusive", "share"])

            // The same with the row's locks alone: the later share goes first, so shares that always overlap
            // would hold the exclusive request off for good.
            try await database.execute("CREATE TABLE flows_t (id TEXT PRIMARY KEY)")
            try await database.execute("INSERT INTO flows_t (id) VALUES ('f')")
            let rowWaits: @Sendable () async throws -> Int = {
                Int(
                    try await database.first(
                        "SELECT COUNT(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()")?.int("n") ?? 0)
            }
            let unfair = try await Self.order(
                on: database, secondShareWaits: false, waiting: rowWaits,
                share: { _ = try await $0.first("SELECT id FROM flows_t WHERE id = 'f' FOR SHARE") },
                exclusive: { _ = try await $0.first("SELECT id FROM flows_t WHERE id = 'f' FOR UPDATE") })
            #expect(unfair == ["share", "exclusive"])
        }
    }

    @Test("shared holders hold the lock together, and an exclusive request is refused while one does")
    func sharedHoldersTogether() async throws {
        try await TestDatabases.withDatabase(.postgres) { database in
            let key = "CAST(\(Int64(KeyedLock.flowLifecycle.rawValue)) AS INTEGER), hashtext('f')"
            try await database.transaction { first in
                try await first.hold(.flowLifecycle, key: "f", mode: .shared)
                try await database.transaction { second in
                    let shared = try await second.first(SQLQuery(unsafeSQL: "SELECT pg_try_advisory_xact_lock_shared(\(key)) AS taken"))
                    #expect(try shared?.bool("taken") == true, "a second shared holder")
                }
                try await database.transaction { third in
                    let exclusive = try await third.first(SQLQuery(unsafeSQL: "SELECT pg_try_advisory_xact_lock(\(key)) AS taken"))
                    #expect(try exclusive?.bool("taken") == false, "no exclusive holder beside a shared one")
                }
            }
            try await database.transaction { first in
                try await first.hold(.flowLifecycle, key: "f", mode: .exclusive)
                try await database.transaction { second in
                    let shared = try await second.first(SQLQuery(unsafeSQL: "SELECT pg_try_advisory_xact_lock_shared(\(key)) AS taken"))
                    #expect(try shared?.bool("taken") == false, "no shared holder beside an exclusive one")
                }
            }
        }
    }

    @Test("keys are locks of their own: a key held exclusively does not hold up another key")
    func keysAreIndependent() async throws {
        try await TestDatabases.withDatabase(.postgres) { database in
            try await database.transaction { first in
                try await first.hold(.flowLifecycle, key: "a", mode: .exclusive)
                try await database.transaction { second in
                    try await second.hold(.flowLifecycle, key: "b", mode: .exclusive)
                    let taken = try await second.first(
                        "SELECT pg_try_advisory_xact_lock_shared(CAST(\(Int64(KeyedLock.flowLifecycle.rawValue)) AS INTEGER), hashtext('a')) AS taken"
                    )
                    #expect(try taken?.bool("taken") == false, "key a is still held by the first transaction")
                }
            }
        }
    }
}
