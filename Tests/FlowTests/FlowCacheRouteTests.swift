import FlowRepository
import Foundation
import GatewayTestSupport
import HTTPTypes
import HummingbirdTesting
import PortcullisCore
import Storage
import TestSupport
import Testing

/// `GET /flows/{id}` answers from the flow cache (``FlowCache``); these tests hold it to the database.
@Suite("Flow cache through HTTP")
struct FlowCacheRouteTests {
    @Test("a change is read back at once, by its author and by others, and an owner removed stops seeing the flow", arguments: Backend.allCases)
    func changesAreSeenAtOnce(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
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
        "a change checked against a copy this process was not told is outdated is refused at the flow's row (409), not carried out; the notice drops the copy",
        arguments: Backend.allCases)
    func staleCopyIsRefused(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let carol = try await env.user("carol", tenant: nil)
            let dave = try await env.user("dave", tenant: nil)
            let admin = try await env.adminToken()
            var ids: [String] = []
            for _ in 0..<3 {
                let created = try await env.createFlow(
                    FlowFixtures.flow(extra: ["owners": [["id": .string(carol.id), "type": "user"], ["id": .string(dave.id), "type": "user"]]]),
                    token: admin)
                ids.append(try #require(created["id"]?.stringValue))
            }
            for id in ids {
                #expect(try await env.call(.get, "/flows/\(id)", token: carol.token).status == .ok)
                // Another writer (a process whose notice has not arrived yet) removes carol behind this one's back.
                try await env.database.execute("DELETE FROM flow_owners WHERE flow_id = \(id) AND owner_id = \(carol.id)")
                // The precondition of the test: this process still answers from its copy.
                #expect(try await env.call(.get, "/flows/\(id)", token: carol.token).status == .ok)
            }

            let start = try await env.call(.post, "/flows/\(ids[0])/start", token: carol.token)
            #expect(start.status == .conflict, "\(start.bodyText)")
            #expect(start.errorReason == "CONCURRENT_CHANGE")
            let delete = try await env.call(.delete, "/flows/\(ids[1])", token: carol.token)
            #expect(delete.status == .conflict, "\(delete.bodyText)")
            #expect(delete.errorReason == "CONCURRENT_CHANGE")
            for id in ids[0...1] {
                let row = try await env.database.first("SELECT status FROM flows WHERE id = \(id)")
                #expect(try row?.string("status") == "inactive", "the flow is neither started nor deleted")
                // The refused change read the row: the copy is gone at once.
                #expect(try await env.call(.get, "/flows/\(id)", token: carol.token).status == .notFound)
            }

            // The third copy goes when the notice arrives.
            let third = ids[2]
            try await env.database.withConnection { connection in
                try await env.database.notify(channel: FlowChanges.channel, payload: third, on: connection)
            }
            #expect(
                try await eventually(timeout: .seconds(10)) { try await env.call(.get, "/flows/\(third)", token: carol.token).status == .notFound })
            // The owner who still owns them can change them.
            #expect(try await env.call(.post, "/flows/\(ids[0])/start", token: dave.token).status == .ok)
            #expect(try await env.call(.delete, "/flows/\(ids[1])", token: dave.token).status == .ok)
        }
    }
}
