import Foundation
import PortcullisCore
import Storage
import TestSupport
import Testing

/// The storage conformance suite: every behaviour the modules rely on, on SQLite and on PostgreSQL.
@Suite("Storage conformance")
struct StorageConformanceTests {
    static let itemsTable = Migration(id: "test.0001") { dialect in
        ["CREATE TABLE items (id \(dialect.autoIncrementPrimaryKey), name TEXT NOT NULL UNIQUE, quantity BIGINT NOT NULL DEFAULT 0)"]
    }

    static func withItems(_ backend: Backend, _ body: @Sendable (any Database) async throws -> Void) async throws {
        try await TestDatabases.withDatabase(backend) { database in
            try await MigrationRunner(database: database, migrations: [itemsTable], logger: TestDatabases.logger).migrate()
            try await body(database)
        }
    }

    @Test("every value type round-trips unchanged", arguments: Backend.allCases)
    func valuesRoundTrip(backend: Backend) async throws {
        try await TestDatabases.withDatabase(backend) { database in
            try await database.execute(
                SQLQuery(
                    unsafeSQL:
                        "CREATE TABLE samples (i BIGINT, d DOUBLE PRECISION, t TEXT, b \(database.dialect.blobType), f BOOLEAN, n TEXT)"
                )
            )
            let bytes: [UInt8] = [0, 1, 2, 255, 0, 127]
            let text = "ünïcödé ✓ 'quoted' \"double\" \\ back; DROP TABLE samples; --"
            try await database.execute(
                "INSERT INTO samples (i, d, t, b, f, n) VALUES (\(Int64.min), \(3.25), \(text), \(bytes), \(true), \(SQLValue.null))"
            )
            let row = try #require(try await database.first("SELECT i, d, t, b, f, n FROM samples"))
            #expect(try row.int("i") == Int64.min)
            #expect(try row.double("d") == 3.25)
            #expect(try row.string("t") == text)
            #expect(try row.bytes("b") == bytes)
            #expect(try row.bool("f") == true)
            #expect(try row.optionalString("n") == nil)
        }
    }

    @Test("interpolated values are bound, never spliced into the SQL", arguments: Backend.allCases)
    func bindingIsNotSQL(backend: Backend) async throws {
        try await Self.withItems(backend) { database in
            let hostile = "x'); DELETE FROM items; --"
            try await database.execute("INSERT INTO items (name) VALUES ('keep')")
            try await database.execute("INSERT INTO items (name) VALUES (\(hostile))")
            let names = try await database.query("SELECT name FROM items ORDER BY id").map { try $0.string("name") }
            #expect(names == ["keep", hostile])
        }
    }

    @Test("RETURNING gives the written row on both backends", arguments: Backend.allCases)
    func returning(backend: Backend) async throws {
        try await Self.withItems(backend) { database in
            let row = try #require(try await database.first("INSERT INTO items (name, quantity) VALUES ('a', 5) RETURNING id, quantity"))
            #expect(try row.int("id") > 0)
            #expect(try row.int("quantity") == 5)
        }
    }

    @Test("a transaction commits all its writes when the body returns", arguments: Backend.allCases)
    func transactionCommits(backend: Backend) async throws {
        try await Self.withItems(backend) { database in
            try await database.transaction { connection in
                try await connection.execute("INSERT INTO items (name) VALUES ('a')")
                try await connection.execute("INSERT INTO items (name) VALUES ('b')")
            }
            let count = try await database.first("SELECT COUNT(*) AS n FROM items")
            #expect(try count?.int("n") == 2)
        }
    }

    @Test("a statement outside a transaction sees every committed write", arguments: Backend.allCases)
    func reads(backend: Backend) async throws {
        try await Self.withItems(backend) { database in
            try await database.execute("INSERT INTO items (name) VALUES ('committed')")
            #expect(try await database.query("SELECT name FROM items").map { try $0.string("name") } == ["committed"])
            try await database.transaction { connection in
                try await connection.execute("INSERT INTO items (name) VALUES ('pending')")
            }
            #expect(try await database.first("SELECT COUNT(*) AS n FROM items")?.int("n") == 2)
        }
    }

    struct Abort: Error, Equatable {}

    @Test("a transaction rolls back every write and rethrows when the body throws", arguments: Backend.allCases)
    func transactionRollsBack(backend: Backend) async throws {
        try await Self.withItems(backend) { database in
            await #expect(throws: Abort.self) {
                try await database.transaction { connection in
                    try await connection.execute("INSERT INTO items (name) VALUES ('a')")
                    throw Abort()
                }
            }
            let count = try await database.first("SELECT COUNT(*) AS n FROM items")
            #expect(try count?.int("n") == 0)
            // The connection is usable again after the rollback.
            try await database.execute("INSERT INTO items (name) VALUES ('after')")
        }
    }

    @Test("a unique violation is reported as such and leaves no half-written transaction", arguments: Backend.allCases)
    func uniqueViolation(backend: Backend) async throws {
        try await Self.withItems(backend) { database in
            try await database.execute("INSERT INTO items (name) VALUES ('taken')")
            await #expect {
                try await database.transaction { connection in
                    try await connection.execute("INSERT INTO items (name) VALUES ('fresh')")
                    try await connection.execute("INSERT INTO items (name) VALUES ('taken')")
                }
            } throws: { error in
                if case StorageError.uniqueViolation = error { return true }
                return false
            }
            let names = try await database.query("SELECT name FROM items").map { try $0.string("name") }
            #expect(names == ["taken"])
        }
    }

    @Test("a query the database rejects fails with queryFailed, not a crash", arguments: Backend.allCases)
    func badSQL(backend: Backend) async throws {
        try await TestDatabases.withDatabase(backend) { database in
            await #expect {
                try await database.execute("SELECT * FROM no_such_table")
            } throws: { error in
                if case StorageError.queryFailed = error { return true }
                return false
            }
            try await database.ping()
        }
    }

    @Test("concurrent transactions serialise their read-modify-write correctly", arguments: Backend.allCases)
    func concurrentTransactions(backend: Backend) async throws {
        try await Self.withItems(backend) { database in
            try await database.execute("INSERT INTO items (name, quantity) VALUES ('counter', 0)")
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<40 {
                    group.addTask {
                        try await database.transaction { connection in
                            let lock = connection.dialect == .postgres ? " FOR UPDATE" : ""
                            let row = try await connection.first("SELECT quantity FROM items WHERE name = 'counter'\(unsafe: lock)")
                            let quantity = try #require(row).int("quantity")
                            try await connection.execute("UPDATE items SET quantity = \(quantity + 1) WHERE name = 'counter'")
                        }
                    }
                }
                try await group.waitForAll()
            }
            let row = try await database.first("SELECT quantity FROM items WHERE name = 'counter'")
            #expect(try row?.int("quantity") == 40)
        }
    }

    @Test("a reading row accessor reports a missing column or a wrong type", arguments: Backend.allCases)
    func rowErrors(backend: Backend) async throws {
        try await TestDatabases.withDatabase(backend) { database in
            let row = try #require(try await database.first("SELECT 'text' AS t"))
            #expect(throws: StorageError.missingColumn("nope")) { try row.string("nope") }
            #expect(throws: StorageError.typeMismatch(column: "t", expected: "integer")) { try row.int("t") }
        }
    }
}

@Suite("Misuse is an error, not a hang")
struct NestedUseTests {
    @Test("using the database instead of the transaction's connection inside a transaction fails at once on SQLite")
    func nestedUse() async throws {
        try await TestDatabases.withDatabase(.sqlite) { database in
            await #expect {
                try await database.transaction { _ in
                    try await database.execute("SELECT 1")
                }
            } throws: { error in
                guard case StorageError.queryFailed(let message) = error else { return false }
                return message.contains("nested use")
            }
            // The database is usable afterwards.
            try await database.execute("SELECT 1")
        }
    }
}
