import FlowRepository
import Foundation
import PortcullisCore
import Storage
import TestSupport
import Testing

@Suite("Flow store")
struct FlowStoreTests {
    static func flow(
        _ id: String, name: String?, description: String? = nil, type: String = "ordinary", owners: [FlowOwner], status: FlowStatus = .inactive,
        created: TimeInterval
    ) -> Flow {
        let graph = FlowGraph(
            nodes: [FlowNode(id: "step_1", componentID: "c1", function: "f", fields: ["k": "v"])], edges: [])
        return Flow(
            id: id, draft: FlowDraft(name: name, description: description, type: type, graph: graph), owners: owners, status: status,
            createdAt: Date(timeIntervalSince1970: 1_700_000_000 + created), updatedAt: Date(timeIntervalSince1970: 1_700_000_000 + created))
    }

    static func withStore(_ backend: Backend, _ body: @Sendable (any Database, FlowStore) async throws -> Void) async throws {
        try await TestDatabases.withDatabase(backend) { database in
            try await MigrationRunner(database: database, migrations: FlowMigrations.all, logger: TestDatabases.logger).migrate()
            try await body(database, FlowStore(database: database))
        }
    }

    @Test("a locking read that waited for another transaction sees the owners that transaction left", arguments: Backend.allCases)
    func lockingReadSeesCommittedOwners(backend: Backend) async throws {
        try await Self.withStore(backend) { database, store in
            let flow = Self.flow(
                "f1", name: "Shared", owners: [FlowOwner(id: "alice", type: "user"), FlowOwner(id: "admin", type: "user")], created: 0)
            try await database.transaction { connection in try await store.insert(flow, on: connection) }
            let (locked, lockedSignal) = AsyncStream.makeStream(of: Void.self)
            try await withThrowingTaskGroup(of: [FlowOwner]?.self) { group in
                // The admin removes alice, holding the flow's row for a while before committing.
                group.addTask {
                    try await database.transaction { connection in
                        var changed = try #require(try await store.find(id: "f1", on: connection, locking: true))
                        lockedSignal.yield()
                        changed.owners = [FlowOwner(id: "admin", type: "user")]
                        try await store.update(changed, on: connection)
                        try await Task.sleep(for: .milliseconds(300))
                    }
                    return nil
                }
                // Meanwhile a start waits for the row: once it has it, alice must be gone.
                group.addTask {
                    for await _ in locked { break }
                    return try await database.transaction { connection in
                        try await store.find(id: "f1", on: connection, locking: true)?.owners
                    }
                }
                for try await owners in group {
                    if let owners { #expect(owners == [FlowOwner(id: "admin", type: "user")]) }
                }
            }
        }
    }

    @Test("removing an owner waits for a command holding the flow, which cannot write the owner back", arguments: Backend.allCases)
    func removedOwnerStaysRemoved(backend: Backend) async throws {
        try await Self.withStore(backend) { database, store in
            let flow = Self.flow(
                "f1", name: "Shared", owners: [FlowOwner(id: "alice", type: "user"), FlowOwner(id: "admin", type: "user")], created: 0)
            let other = Self.flow("f2", name: "Hers", owners: [FlowOwner(id: "alice", type: "user")], created: 1)
            try await database.transaction { connection in
                try await store.insert(flow, on: connection)
                try await store.insert(other, on: connection)
            }
            let (locked, lockedSignal) = AsyncStream.makeStream(of: Void.self)
            try await withThrowingTaskGroup(of: Void.self) { group in
                // A rename holds the flow's row, with the owners it read before alice's account is deleted, and
                // writes them back as it read them a moment later.
                group.addTask {
                    try await database.transaction { connection in
                        var renamed = try #require(try await store.find(id: "f1", on: connection, locking: true))
                        lockedSignal.yield()
                        try await Task.sleep(for: .milliseconds(300))
                        renamed.draft.name = "Renamed"
                        try await store.update(renamed, on: connection)
                    }
                }
                // Meanwhile alice's account is deleted, which removes her from every flow she owns.
                group.addTask {
                    for await _ in locked { break }
                    let removed = try await database.transaction { connection in
                        try await store.removeOwner("alice", type: "user", on: connection)
                    }
                    #expect(removed == ["f1", "f2"])
                }
                try await group.waitForAll()
            }
            let stored = try #require(try await store.find(id: "f1"))
            #expect(stored.draft.name == "Renamed")
            #expect(stored.owners == [FlowOwner(id: "admin", type: "user")])
            #expect(try await store.find(id: "f2")?.owners == [])
        }
    }

    @Test("a flow round-trips whole: graph, owners, webhook settings and the sealed secret", arguments: Backend.allCases)
    func roundTrip(backend: Backend) async throws {
        try await Self.withStore(backend) { database, store in
            var flow = Self.flow("f1", name: "One", owners: [FlowOwner(id: "u1", type: "user"), FlowOwner(id: "t1", type: "tenant")], created: 0)
            flow.draft.cron = "*/5 * * * *"
            flow.draft.webhooks = WebhookSettings(requireWebhookAuth: true, hmacHeader: "x-sig", hmacAlgorithm: "sha512")
            flow.sealedHMACSecret = [1, 2, 3, 255]
            try await database.transaction { connection in try await store.insert(flow, on: connection) }
            let found = try #require(try await store.find(id: "f1"))
            #expect(found.draft.graph == flow.draft.graph)
            #expect(Set(found.owners) == Set(flow.owners))
            #expect(found.draft.cron == "*/5 * * * *")
            #expect(found.draft.webhooks == WebhookSettings(requireWebhookAuth: true, hmacHeader: "x-sig", hmacAlgorithm: "sha512"))
            #expect(found.sealedHMACSecret == [1, 2, 3, 255])
            #expect(found.createdAt == flow.createdAt)
            // The answer never carries the secret.
            let encoded = String(decoding: try JSONEncoder().encode(found), as: UTF8.self)
            #expect(!encoded.contains("hmacSecret") && !encoded.contains("sealed"))
            #expect(try await store.find(id: "nope") == nil)

            var changed = found
            changed.draft.name = "Renamed"
            changed.owners = [FlowOwner(id: "u2", type: "user")]
            changed.status = .starting
            try await database.transaction { connection in try await store.update(changed, on: connection) }
            let updated = try #require(try await store.find(id: "f1"))
            #expect(updated.draft.name == "Renamed")
            #expect(updated.owners == [FlowOwner(id: "u2", type: "user")])
            #expect(updated.status == .starting)
            try await database.transaction { connection in try await store.delete(id: "f1", on: connection) }
            #expect(try await store.find(id: "f1") == nil)
        }
    }

    @Test(
        "listing: visibility by owner ids, an owner filter that never widens it, status, type, search, sort and paging", arguments: Backend.allCases)
    func listing(backend: Backend) async throws {
        try await Self.withStore(backend) { database, store in
            let flows = [
                Self.flow("a", name: "Alpha Sync", description: "pulls 100% of persons", owners: [FlowOwner(id: "u1", type: "user")], created: 1),
                Self.flow("b", name: "beta", owners: [FlowOwner(id: "t1", type: "tenant")], status: .active, created: 2),
                Self.flow("c", name: "Gamma", type: "realtime", owners: [FlowOwner(id: "u2", type: "user")], created: 3),
                Self.flow("d", name: nil, description: "ALPHA in the description", owners: [FlowOwner(id: "u1", type: "user")], created: 4),
            ]
            try await database.transaction { connection in
                for flow in flows { try await store.insert(flow, on: connection) }
            }
            func ids(_ query: FlowQuery, offset: Int = 0, limit: Int = 10) async throws -> [String] {
                try await store.list(query, offset: offset, limit: limit).items.map(\.id)
            }
            #expect(try await ids(FlowQuery(visibleTo: nil)) == ["a", "b", "c", "d"])
            #expect(try await ids(FlowQuery(visibleTo: ["u1", "t1"])) == ["a", "b", "d"])
            #expect(try await ids(FlowQuery(visibleTo: [])) == [])
            var foreign = FlowQuery(visibleTo: ["u1", "t1"])
            foreign.owner = "u2"
            #expect(try await ids(foreign) == [], "filter[user] never widens what is visible")
            var own = FlowQuery(visibleTo: ["u1", "t1"])
            own.owner = "u1"
            #expect(try await ids(own) == ["a", "d"])
            var active = FlowQuery(visibleTo: nil)
            active.status = .active
            #expect(try await ids(active) == ["b"])
            var realtime = FlowQuery(visibleTo: nil)
            realtime.type = "realtime"
            #expect(try await ids(realtime) == ["c"])
            var search = FlowQuery(visibleTo: nil)
            search.search = "alpha"
            #expect(try await ids(search) == ["a", "d"], "case-insensitive, on name and description")
            search.search = "100%"
            #expect(try await ids(search) == ["a"], "% matches itself")
            search.search = "_"
            #expect(try await ids(search) == [], "_ matches itself")
            var byName = FlowQuery(visibleTo: nil)
            byName.sort = .name
            #expect(try await ids(byName) == ["d", "a", "b", "c"], "no name sorts first; then case-insensitive")
            byName.descending = true
            #expect(try await ids(byName) == ["c", "b", "a", "d"])
            var newest = FlowQuery(visibleTo: nil)
            newest.descending = true
            let page = try await store.list(newest, offset: 1, limit: 2)
            #expect(page.items.map(\.id) == ["c", "b"])
            #expect(page.total == 4)
            let beyond = try await store.list(FlowQuery(visibleTo: ["u1"]), offset: 5, limit: 2)
            #expect(beyond.items.isEmpty)
            #expect(beyond.total == 2)
        }
    }
}
