import FlowRepository
import Foundation
import GatewayTestSupport
import HTTPTypes
import HummingbirdTesting
import Messaging
import PortcullisCore
import TestSupport
import Testing

@Suite("Flow lists, bulk writes and step logs")
struct FlowCollectionTests {
    @Test("paging, every filter and every sort of GET /flows", arguments: Backend.allCases)
    func listing(backend: Backend) async throws {
        try await withIdentityGateway(backend, modules: FlowLifecycleTests.withoutOrchestrator) { env in
            let alice = try await env.user("alice", tenant: "t1")
            let carol = try await env.user("carol", tenant: "t1")
            var ids: [String] = []
            for (name, type) in [("Bravo import", "ordinary"), ("alpha export", "long_running"), ("Charlie sync", "ordinary")] {
                ids.append(
                    try #require(
                        try await env.createFlow(FlowFixtures.flow(name: name, extra: ["type": .string(type)]), token: alice.token)["id"]?.stringValue
                    ))
            }
            let carols = try #require(try await env.createFlow(FlowFixtures.flow(name: "Delta carol"), token: carol.token)["id"]?.stringValue)
            #expect(try await env.call(.post, "/flows/\(ids[2])/start", token: alice.token).status == .ok)

            func names(_ query: String) async throws -> [String] {
                let response = try await env.call(.get, "/flows?\(query)", token: alice.token)
                #expect(response.status == .ok, "\(query): \(response.bodyText)")
                return (response.json?["data"]?.arrayValue ?? []).compactMap { $0["name"]?.stringValue }
            }
            // Tenant colleagues' flows are visible (the tenant owns them); filter[user] narrows to one owner.
            #expect(try await names("") == ["Bravo import", "alpha export", "Charlie sync", "Delta carol"])
            #expect(try await names("filter%5Buser%5D=\(carol.id)") == ["Delta carol"])
            #expect(try await names("sort=name") == ["alpha export", "Bravo import", "Charlie sync", "Delta carol"])
            #expect(try await names("sort=-name") == ["Delta carol", "Charlie sync", "Bravo import", "alpha export"])
            #expect(try await names("sort=-createdAt") == ["Delta carol", "Charlie sync", "alpha export", "Bravo import"])
            #expect(try await names("sort=createdAt") == ["Bravo import", "alpha export", "Charlie sync", "Delta carol"])
            #expect(try await names("sort=-updatedAt").first == "Charlie sync")
            #expect(try await names("sort=updatedAt").last == "Charlie sync")
            #expect(try await names("filter%5Bstatus%5D=starting") == ["Charlie sync"])
            #expect(try await names("filter%5Bstatus%5D=inactive") == ["Bravo import", "alpha export", "Delta carol"])
            #expect(try await names("filter%5Bstatus%5D=active").isEmpty)
            #expect(try await names("filter%5Bstatus%5D=0") == ["Bravo import", "alpha export", "Delta carol"])
            #expect(try await names("filter%5Bstatus%5D=1").isEmpty)
            #expect(try await names("filter%5Btype%5D=long_running") == ["alpha export"])
            #expect(try await names("search=ALPHA") == ["alpha export"])
            #expect(try await names("search=from%20a") == ["Bravo import", "alpha export", "Charlie sync", "Delta carol"])
            #expect(try await names("search=100%25").isEmpty)

            let page = try await env.call(.get, "/flows?page%5Bsize%5D=3&page%5Bnumber%5D=2", token: alice.token)
            #expect(page.json?["meta"] == ["total": 4, "page": 2, "perPage": 3, "totalPages": 2])
            #expect(page.json?["data"]?.arrayValue?.compactMap { $0["id"]?.stringValue } == [carols])
            let filtered = try await env.call(.get, "/flows?filter%5Btype%5D=ordinary&page%5Bsize%5D=1", token: alice.token)
            #expect(filtered.json?["meta"]?["total"] == 3)

            // The listing is a recorded resource decision: owned flows only for a user, everything for an admin.
            let admin = try await env.adminToken()
            #expect(try await env.call(.get, "/flows", token: alice.token, requestID: "list-user-\(backend)").status == .ok)
            _ = try await env.resourceDecisions(of: "list-user-\(backend)", outcome: "allow", reason: "OWNED_ONLY", admin: admin)
            #expect(try await env.call(.get, "/flows", token: admin, requestID: "list-admin-\(backend)").json?["meta"]?["total"] == 4)
            _ = try await env.resourceDecisions(of: "list-admin-\(backend)", outcome: "allow", reason: "ALLOWED", admin: admin)
        }
    }

    @Test("a bulk create stores the good items and reports each bad one; it needs flows.bulk", arguments: Backend.allCases)
    func bulkCreate(backend: Backend) async throws {
        try await withIdentityGateway(backend, modules: FlowLifecycleTests.withoutOrchestrator) { env in
            let admin = try await env.adminToken()
            let alice = try await env.user("alice", tenant: "t1")
            let bulk: JSONValue = [FlowFixtures.flow(name: "good one"), ["name": "no graph"], FlowFixtures.flow(name: "good two")]
            let refused = try await env.call(.post, "/flows", token: alice.token, json: bulk, requestID: "bulk-refused-\(backend)")
            #expect(refused.status == .forbidden)
            let denies = try await env.resourceDecisions(of: "bulk-refused-\(backend)", outcome: "deny", reason: "MISSING_PERMISSION", admin: admin)
            // A module's refusal explains itself too: what it needed, what the token lacks, and its record.
            let entry = refused.json?["errors"]?.arrayValue?.first
            #expect(entry?["message"] == "This request needs the permission flows.bulk; your token does not have it.")
            #expect(entry?["required"] == ["allOf": ["flows.bulk"]])
            #expect(entry?["missing"] == ["flows.bulk"])
            #expect(entry?["requestId"] == .string("bulk-refused-\(backend)"))
            #expect(entry?["decisionId"] != nil && entry?["decisionId"] == denies.last?["id"], "\(refused.bodyText)")
            #expect(try await env.call(.get, "/flows", token: alice.token).json?["meta"]?["total"] == 0)

            let bulker = try await env.user("bulker", tenant: "t1", permissions: ["flows.bulk"])
            let response = try await env.call(.post, "/flows", token: bulker.token, json: bulk)
            #expect(response.status == .created)
            let items = try #require(response.json?["data"]?.arrayValue)
            #expect(items.count == 3)
            #expect(items[0]["name"] == "good one")
            #expect(items[1]["errors"]?.arrayValue?.first?["message"] == "Flows require a graph.")
            #expect(items[2]["name"] == "good two")
            #expect(try await env.call(.get, "/flows", token: bulker.token).json?["meta"]?["total"] == 2)
            #expect(try await env.call(.post, "/flows", token: bulker.token, json: []).status == .badRequest)
            let tooMany = JSONValue.array(Array(repeating: FlowFixtures.flow(), count: 101))
            #expect(try await env.call(.post, "/flows", token: bulker.token, json: tooMany).status == .badRequest)
            #expect(try await env.call(.get, "/flows", token: bulker.token).json?["meta"]?["total"] == 2)

            // PATCH /flows/bulk: each item on its own, by id.
            let ids = items.compactMap { $0["id"]?.stringValue }
            let patch: JSONValue = [
                ["id": .string(ids[0]), "name": "renamed"], ["id": "bbbbbbbbbbbbbbbbbbbbbbbb", "name": "x"], ["name": "no id"],
                ["id": .string(ids[1]), "graph": ["nodes": []]],
            ]
            let patched = try await env.call(.patch, "/flows/bulk", token: bulker.token, json: patch)
            #expect(patched.status == .ok)
            let answers = try #require(patched.json?["data"]?.arrayValue)
            #expect(answers[0]["name"] == "renamed")
            #expect(answers[1]["errors"]?.arrayValue?.first?["code"] == 404)
            #expect(answers[2]["errors"]?.arrayValue?.first?["reason"] == "MISSING_FIELD")
            #expect(answers[3]["errors"]?.arrayValue?.first?["message"] == "Flows require at least one node.")
            #expect(try await env.call(.get, "/flows/\(ids[1])", token: bulker.token).json?["data"]?["name"] == "good two")
            #expect(try await env.call(.patch, "/flows/bulk", token: alice.token, json: patch).status == .forbidden)

            // Each item is status-checked on its own: a running flow is 409, the other item still changes.
            #expect(try await env.call(.post, "/flows/\(ids[0])/start", token: bulker.token).status == .ok)
            let mixed = try await env.call(
                .patch, "/flows/bulk", token: bulker.token, json: [["id": .string(ids[0]), "name": "x"], ["id": .string(ids[1]), "name": "y"]])
            let results = try #require(mixed.json?["data"]?.arrayValue)
            #expect(results[0]["errors"]?.arrayValue?.first?["code"] == 409)
            #expect(results[1]["name"] == "y")
            #expect(try await env.call(.get, "/flows/\(ids[0])", token: bulker.token).json?["data"]?["name"] == "renamed")
        }
    }

    @Test("a step's log lists its messages' events with ids and attempts, never bodies, in pages", arguments: Backend.allCases)
    func stepLog(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let alice = try await env.user("alice", tenant: "t1")
            let bob = try await env.user("bob", tenant: "t2")
            let id = try #require(try await env.createFlow(token: alice.token)["id"]?.stringValue)
            #expect(try await env.call(.post, "/flows/\(id)/start", token: alice.token).status == .ok)
            #expect(try await env.flowStatus(id, becomes: "active", token: alice.token) != nil)
            let queue = FlowQueueNames.messages(flowID: id, nodeID: "step_1")
            try await env.messaging.queues.enqueue(queue, messageID: "m-1", message: ["secret-body": "do-not-show"])
            try await env.messaging.queues.enqueue(queue, messageID: "m-2", message: ["secret-body": "do-not-show"])
            let first = try await env.messaging.queues.lease(queue, max: 2, visibility: .seconds(30), wait: .zero)
            #expect(first.count == 2)
            #expect(try await env.messaging.queues.ack(queue, seq: first[0].seq, leaseID: first[0].leaseID))
            _ = try await env.messaging.queues.nack(queue, seq: first[1].seq, leaseID: first[1].leaseID, retryAfter: .zero, error: "boom")

            let log = try await env.call(.get, "/flows/\(id)/steps/step_1/logs", token: alice.token)
            #expect(log.status == .ok)
            #expect(!log.bodyText.contains("do-not-show"))
            let events = (log.json?["data"]?.arrayValue ?? []).compactMap { line -> String? in
                guard let event = line["message"]?["event"]?.stringValue, let message = line["message"]?["messageId"]?.stringValue else { return nil }
                return "\(event) \(message)"
            }
            #expect(events == ["enqueued m-1", "enqueued m-2", "leased m-1", "leased m-2", "acked m-1", "nacked m-2"])
            #expect(log.json?["data"]?.arrayValue?.first?["timestamp"]?.stringValue != nil)
            #expect(log.json?["meta"]?["pageSize"] == 100)

            let page = try await env.call(.get, "/flows/\(id)/steps/step_1/logs?pageSize=4", token: alice.token)
            #expect(page.json?["data"]?.arrayValue?.count == 4)
            let token = try #require(page.json?["meta"]?["nextPageToken"]?.stringValue)
            let rest = try await env.call(.get, "/flows/\(id)/steps/step_1/logs?pageSize=4&pageToken=\(token)", token: alice.token)
            #expect(rest.json?["data"]?.arrayValue?.compactMap { $0["message"]?["event"]?.stringValue } == ["acked", "nacked"])
            #expect(rest.json?["meta"]?["nextPageToken"] == nil)

            #expect(try await env.call(.get, "/flows/\(id)/steps/step_9/logs", token: alice.token).status == .notFound)
            #expect(try await env.call(.get, "/flows/\(id)/steps/step_1/logs", token: bob.token).status == .notFound)
            for query in ["pageSize=0", "pageSize=101", "pageSize=x", "pageToken=abc", "pageToken=-4"] {
                #expect(try await env.call(.get, "/flows/\(id)/steps/step_1/logs?\(query)", token: alice.token).status == .badRequest, "\(query)")
            }
        }
    }
}
