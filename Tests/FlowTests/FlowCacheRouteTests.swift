import Foundation
import GatewayTestSupport
import HTTPTypes
import HummingbirdTesting
import PortcullisCore
import Storage
import TestSupport
import Testing

@testable import FlowRepository

/// `GET /flows/{id}` answers from the flow cache (``FlowCache``); these tests hold it to the database.
@Suite("Flow cache through HTTP")
struct FlowCacheRouteTests {
    /// This gateway's flow store, once its change listener is subscribed: from then on no first `*`
    /// (sent when the listener subscribes) can empty the cache under the test's feet.
    static func listeningStore(_ env: IdentityEnvironment) async throws -> FlowStore {
        let store = try #require(env.modules.compactMap { $0 as? FlowModule }.first).store
        let probe = Flow(
            id: "listener-probe", draft: FlowDraft(name: "probe", graph: FlowGraph(nodes: [], edges: [])), owners: [], createdAt: Date(),
            updatedAt: Date())
        let listening = try await eventually(timeout: .seconds(10)) {
            _ = store.cache.put(probe, size: 1, readSince: store.cache.generation)
            try await env.database.withConnection { connection in
                try await env.database.notify(channel: FlowChanges.channel, payload: probe.id, on: connection)
            }
            try await Task.sleep(for: .milliseconds(20))
            return store.cache.get(probe.id) == nil
        }
        #expect(listening, "the flow listener never subscribed")
        return store
    }

    @Test("a change is read back at once, by its author and by others, and an owner removed stops seeing the flow", arguments: Backend.allCases)
    func changesAreSeenAtOnce(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            _ = try await Self.listeningStore(env)
            // A flow of no tenant shared by two users, which only a platform admin can make.
            let admin = try await env.adminToken()
            let carol = try await env.user("carol", tenant: nil)
            let dave = try await env.user("dave", tenant: nil)
            let created = try await env.createFlow(
                FlowFixtures.flow(extra: ["owners": [["id": .string(carol.id), "type": "user"], ["id": .string(dave.id), "type": "user"]]]),
                token: admin)
            let id = try #require(created["id"]?.stringValue)
            // Both read it: its cache entry and both kinds of answer exist.
            for token in [admin, carol.token] {
                #expect(try await env.call(.get, "/flows/\(id)", token: token).json?["data"]?["name"] == "Sync contacts")
            }

            #expect(try await env.call(.patch, "/flows/\(id)", token: admin, json: ["name": "Renamed"]).status == .ok)
            for token in [admin, carol.token] {
                #expect(try await env.call(.get, "/flows/\(id)", token: token).json?["data"]?["name"] == "Renamed")
            }

            let owners: JSONValue = [["id": .string(dave.id), "type": "user"]]
            #expect(try await env.call(.patch, "/flows/\(id)", token: admin, json: ["owners": owners]).status == .ok)
            #expect(try await env.call(.get, "/flows/\(id)", token: carol.token).status == .notFound)

            #expect(try await env.call(.post, "/flows/\(id)/start", token: admin).status == .ok)
            let status = try await env.call(.get, "/flows/\(id)", token: admin).json?["data"]?["status"]?.stringValue
            #expect(status == "starting" || status == "active", "\(status ?? "nil")")
            #expect(try await env.flowStatus(id, becomes: "active", token: admin) != nil)
            #expect(try await env.call(.post, "/flows/\(id)/stop", token: admin).status == .ok)
            #expect(try await env.flowStatus(id, becomes: "inactive", token: admin) != nil)

            #expect(try await env.call(.delete, "/flows/\(id)", token: admin).status == .ok)
            #expect(try await env.call(.get, "/flows/\(id)", token: admin).status == .notFound)
        }
    }

    @Test(
        "a change checked on a copy this process was not told is outdated is decided again at the flow's row: 404 and a recorded deny for a removed owner, nothing changed; the notice drops the copy",
        arguments: Backend.allCases)
    func staleCopyIsRefused(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let store = try await Self.listeningStore(env)
            let carol = try await env.user("carol", tenant: nil)
            let dave = try await env.user("dave", tenant: nil)
            let admin = try await env.adminToken()
            var ids: [String] = []
            for _ in 0..<5 {
                let created = try await env.createFlow(
                    FlowFixtures.flow(extra: ["owners": [["id": .string(carol.id), "type": "user"], ["id": .string(dave.id), "type": "user"]]]),
                    token: admin)
                ids.append(try #require(created["id"]?.stringValue))
            }
            // The fourth runs, so that it has credentials to rotate.
            #expect(try await env.call(.post, "/flows/\(ids[3])/start", token: dave.token).status == .ok)
            #expect(try await env.flowStatus(ids[3], becomes: "active", token: dave.token) != nil)
            for id in ids {
                #expect(try await env.call(.get, "/flows/\(id)", token: carol.token).status == .ok)
                #expect(store.cache.get(id) != nil)
                // Another writer (a process whose notice has not arrived yet) removes carol behind this one's back.
                try await env.database.execute("DELETE FROM flow_owners WHERE flow_id = \(id) AND owner_id = \(carol.id)")
                // The precondition of the test: this process still answers from its copy.
                #expect(try await env.call(.get, "/flows/\(id)", token: carol.token).status == .ok)
            }

            // Each change decides carol's visibility again on the row it holds: she no longer sees the flow,
            // so each answers as a fresh read would (404, a recorded NOT_VISIBLE deny), and changes nothing.
            let refusals: [(HTTPRequest.Method, String, String)] = [
                (.post, "/flows/\(ids[0])/start", "stale-start-\(backend)"), (.delete, "/flows/\(ids[1])", "stale-delete-\(backend)"),
                (.post, "/flows/\(ids[3])/credentials", "stale-rotate-\(backend)"), (.patch, "/flows/\(ids[2])", "stale-patch-\(backend)"),
            ]
            for (method, path, requestID) in refusals {
                let refused = try await env.call(
                    method, path, token: carol.token, json: method == .patch ? ["name": "Mine"] : nil, requestID: requestID)
                #expect(refused.status == .notFound, "\(path): \(refused.bodyText)")
                #expect(refused.json?["data"] == nil, "no secret in the answer")
                _ = try await env.resourceDecisions(of: requestID, outcome: "deny", reason: "NOT_VISIBLE", admin: admin)
            }
            for id in ids[0...3] {
                let row = try await env.database.first("SELECT status, name FROM flows WHERE id = \(id)")
                #expect(try row?.string("status") == (id == ids[3] ? "active" : "inactive"), "the flow is neither started nor deleted")
                #expect(try row?.string("name") == "Sync contacts", "nor renamed")
                // The refused change read the row: the copy is gone at once.
                #expect(try await env.call(.get, "/flows/\(id)", token: carol.token).status == .notFound)
            }

            // The fifth copy goes when the notice arrives.
            let third = ids[4]
            try await env.database.withConnection { connection in
                try await env.database.notify(channel: FlowChanges.channel, payload: third, on: connection)
            }
            #expect(
                try await eventually(timeout: .seconds(10)) { try await env.call(.get, "/flows/\(third)", token: carol.token).status == .notFound })
            // The owner who still owns them can change them.
            #expect(try await env.call(.post, "/flows/\(ids[0])/start", token: dave.token).status == .ok)
            #expect(try await env.call(.delete, "/flows/\(ids[1])", token: dave.token).status == .ok)
            #expect(try await env.call(.post, "/flows/\(ids[3])/credentials", token: dave.token).status == .ok)
        }
    }

    @Test("a change refused as busy on a cached copy drops the copy: the next request reads the row", arguments: Backend.allCases)
    func busyDropsTheCopy(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let store = try await Self.listeningStore(env)
            let admin = try await env.adminToken()
            let id = try #require(try await env.createFlow(token: admin)["id"]?.stringValue)
            #expect(try await env.call(.post, "/flows/\(id)/start", token: admin).status == .ok)
            #expect(try await env.flowStatus(id, becomes: "active", token: admin) != nil)
            for method in [HTTPRequest.Method.patch, .delete] {
                // Cached while active, then stopped behind this process's back (another replica, its notice
                // not arrived yet).
                try await env.database.execute("UPDATE flows SET status = 'active' WHERE id = \(id)")
                store.cache.invalidate(id)
                #expect(try await env.call(.get, "/flows/\(id)", token: admin).json?["data"]?["status"] == "active")
                #expect(store.cache.get(id)?.flow.status == .active)
                try await env.database.execute("UPDATE flows SET status = 'inactive' WHERE id = \(id)")

                let refused = try await env.call(method, "/flows/\(id)", token: admin, json: method == .patch ? ["name": "Renamed"] : nil)
                #expect(refused.status == .conflict, "\(refused.bodyText)")
                #expect(refused.errorReason == "FLOW_NOT_INACTIVE")
                #expect(store.cache.get(id) == nil, "the refusal dropped the copy")
                #expect(try await env.call(.get, "/flows/\(id)", token: admin).json?["data"]?["status"] == "inactive")
            }
        }
    }

    @Test(
        "a change checked on an outdated copy goes ahead when the row still shows the caller the flow (an owner added meanwhile)",
        arguments: Backend.allCases)
    func unrelatedChangeDoesNotRefuse(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let store = try await Self.listeningStore(env)
            let carol = try await env.user("carol", tenant: nil)
            let dave = try await env.user("dave", tenant: nil)
            let admin = try await env.adminToken()
            let id = try #require(
                try await env.createFlow(FlowFixtures.flow(extra: ["owners": [["id": .string(carol.id), "type": "user"]]]), token: admin)["id"]?
                    .stringValue)
            #expect(try await env.call(.get, "/flows/\(id)", token: carol.token).status == .ok)
            #expect(store.cache.get(id) != nil)
            try await env.database.execute("INSERT INTO flow_owners (flow_id, owner_id, owner_type) VALUES (\(id), \(dave.id), 'user')")
            #expect(try await env.call(.post, "/flows/\(id)/start", token: carol.token).status == .ok)
            #expect(try await env.flowStatus(id, becomes: "active", token: carol.token) != nil)
        }
    }
}
