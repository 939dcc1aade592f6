import Foundation
import Storage
import TestSupport
import Testing

/// What only the SQLite backend does: background checkpoints, and one connection shared by every caller.
@Suite("SQLite backend")
struct SQLiteBackendTests {
    static func withSQLite(checkpointInterval: Duration = .seconds(1), _ body: @Sendable (SQLiteBackend, String) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("portcullis-sqlite-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("test.sqlite").path
        let database = try await SQLiteBackend.open(path: path, checkpointInterval: checkpointInterval, logger: TestDatabases.logger)
        try await database.whileRunning { try await body(database, path) }
    }

    @Test("a transaction cancelled halfway is rolled back, and the shared connection takes the next statements on their own")
    func cancelledTransaction() async throws {
        try await Self.withSQLite { database, _ in
            try await database.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
            let cancelled = Task {
                try await database.transaction { connection in
                    try await connection.execute("INSERT INTO t (id) VALUES (1)")
                    try await Task.sleep(for: .seconds(60))
                }
            }
            try await Task.sleep(for: .milliseconds(300))
            cancelled.cancel()
            #expect(await (try? cancelled.value) == nil)
            // Were the transaction left open, this write would join it, and the next BEGIN would fail.
            try await database.execute("INSERT INTO t (id) VALUES (2)")
            try await database.transaction { connection in try await connection.execute("INSERT INTO t (id) VALUES (3)") }
            let ids = try await database.query("SELECT id FROM t ORDER BY id").map { try $0.int("id") }
            #expect(ids == [2, 3])
        }
    }

    @Test("committed pages reach the database file without the writer checkpointing, and reads see them")
    func background() async throws {
        try await Self.withSQLite(checkpointInterval: .milliseconds(100)) { database, path in
            let fileSize: @Sendable () -> Int = { ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int) ?? 0 }
            try await database.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
            let before = fileSize()
            let body = String(repeating: "x", count: 4000)
            for batch in 0..<20 {
                try await database.transaction { connection in
                    for row in 0..<100 { try await connection.execute("INSERT INTO t (id, body) VALUES (\(Int64(batch * 100 + row)), \(body))") }
                }
            }
            // About 2,000 pages: past the background's threshold (4 MiB of log), far below the writer's own
            // (10,000 pages), so only the background copies them.
            #expect(try await eventually(timeout: .seconds(20)) { fileSize() >= before + 2000 * 4000 })
            #expect(try await database.first("SELECT COUNT(*) AS n FROM t")?.int("n") == 2000)
        }
    }

    @Test("the connection runs in WAL mode with a 64 MiB page cache and statement journals in memory")
    func settings() async throws {
        try await Self.withSQLite { database, _ in
            let mode = try #require(try await database.first("PRAGMA journal_mode"))
            let cache = try #require(try await database.first("PRAGMA cache_size"))
            let temp = try #require(try await database.first("PRAGMA temp_store"))
            #expect(try mode.string("journal_mode") == "wal")
            #expect(try cache.int("cache_size") == -65_536)
            #expect(try temp.int("temp_store") == 2, "2 is MEMORY")
        }
    }
}
