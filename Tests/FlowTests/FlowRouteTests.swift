import Foundation
import GatewayTestSupport
import HTTPTypes
import HummingbirdTesting
import Messaging
import NIOCore
import PortcullisCore
import Storage
import TestSupport
import Testing

@Suite("Flow repository over HTTP")
struct FlowRouteTests {
    @Test("create, read, list, patch and delete a flow in OIH's shapes", arguments: Backend.allCases)
    func crud(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            try await env.messaging.bus.bind(group: "probe", patterns: ["flowrepo.flow.#"])
            let alice = try await env.user("alice", tenant: "t1")
            let created = try await env.createFlow(
                FlowFixtures.flow(extra: [
                    "flowSettings": ["webhooks": ["requireWebhookAuth": true, "hmacSecret": "s3cr3t-value-long-x", "hmacHeader": "x-sig"]]
                ]),
                token: alice.token)
            let id = try #require(created["id"]?.stringValue)
            #expect(created["status"] == "inactive")
            #expect(created["tenant"] == "t1")
            let owners = Set((created["owners"]?.arrayValue ?? []).compactMap { $0["id"]?.stringValue })
            #expect(owners == [alice.id, "t1"])
            #expect(created["flowSettings"]?["webhooks"]?["hmacHeader"] == "x-sig")
            #expect(!(try #require(String(data: try JSONEncoder().encode(created), encoding: .utf8))).contains("s3cr3t-value-long-x"))

            let read = try await env.call(.get, "/flows/\(id)", token: alice.token)
            #expect(read.status == .ok)
            #expect(read.json?["data"]?["graph"]?["nodes"]?.arrayValue?.count == 2)
            #expect(read.json?["data"]?["graph"]?["nodes"]?.arrayValue?.first?["componentId"] == "5ca5c44c187c040010a9bb8b")
            #expect(!read.bodyText.contains("s3cr3t-value-long-x"))
            #expect(read.json?["meta"] != nil)

            let list = try await env.call(.get, "/flows", token: alice.token)
            #expect(list.json?["meta"]?["total"] == 1)
            #expect(list.json?["data"]?.arrayValue?.first?["id"]?.stringValue == id)

            let patched = try await env.call(.patch, "/flows/\(id)", token: alice.token, json: ["name": "Renamed", "id": "ffffffffffffffffffffffff"])
            #expect(patched.status == .ok)
            #expect(patched.json?["data"]?["name"] == "Renamed")
            #expect(patched.json?["data"]?["id"]?.stringValue == id)
            #expect(patched.json?["data"]?["description"] == "Contacts from A to B")
            #expect(try await env.call(.get, "/flows/ffffffffffffffffffffffff", token: alice.token).status == .notFound)

            let sealed: @Sendable () async throws -> Bool = {
                try await env.database.first("SELECT hmac_secret FROM flows WHERE id = \(id)")?.optionalBytes("hmac_secret") != nil
            }
            #expect(try await sealed())
            #expect(try await env.call(.patch, "/flows/\(id)", token: alice.token, json: ["flowSettings": .null]).status == .ok)
            #expect(try await sealed() == false)
            let deleted = try await env.call(.delete, "/flows/\(id)", token: alice.token)
            #expect(deleted.status == .ok)
            #expect(deleted.json == ["msg": "Flow was successfully deleted"])
            let gone = try await env.call(.get, "/flows/\(id)", token: alice.token)
            #expect(gone.status == .notFound)
            #expect(gone.messages == ["No flow found"])
            // Other modules learn of each change, in order, without the secret.
            let events = try await env.database.query("SELECT body FROM bus_messages WHERE queue = 'bus:probe' ORDER BY seq").map {
                try $0.string("body")
            }
            #expect(
                events.map { try! JSONCoding.decode(Event.self, from: $0).name } == [
                    "flowrepo.flow.created", "flowrepo.flow.modified", "flowrepo.flow.modified", "flowrepo.flow.deleted",
                ])
            #expect(!events.contains { $0.contains("s3cr3t-value-long-x") })
        }
    }

    /// `body` with a name, unless it has one: each validation case shows only its own problem.
    static func named(_ body: JSONValue) -> JSONValue {
        guard case .object(var fields) = body, fields["name"] == nil else { return body }
        fields["name"] = "n"
        return .object(fields)
    }

    @Test("validation answers every problem with OIH's messages, on create and on PATCH", arguments: Backend.allCases)
    func validation(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let alice = try await env.user("alice", tenant: "t1")
            let cases: [(JSONValue, [String])] = [
                (["name": "no graph"], ["Flows require a graph."]),
                (["graph": ["nodes": [], "edges": []]], ["Flows require at least one node."]),
                (["graph": ["nodes": [["componentId": "c", "function": "f"]], "edges": []]], ["Flow nodes require an id."]),
                (["graph": ["nodes": [["id": "a", "function": "f"]], "edges": []]], ["Flow nodes require a componentId."]),
                (["graph": ["nodes": [["id": "a", "componentId": "c"]], "edges": []]], ["Flow nodes require a function."]),
                (
                    [
                        "graph": [
                            "nodes": [["id": "a", "componentId": "c", "function": "f"], ["id": "a", "componentId": "c", "function": "f"]],
                            "edges": [["source": "a", "target": "a"]],
                        ]
                    ],
                    ["Flow node ids must be unique: \"a\" is used more than once."]
                ),
                (
                    [
                        "graph": [
                            "nodes": [["id": "a", "componentId": "c", "function": "f"], ["id": "b", "componentId": "c", "function": "f"]],
                            "edges": [["source": "X", "target": "b"]],
                        ]
                    ],
                    ["Edge source with id \"X\" could not be found among nodes."]
                ),
                (
                    [
                        "graph": [
                            "nodes": [["id": "a", "componentId": "c", "function": "f"], ["id": "b", "componentId": "c", "function": "f"]],
                            "edges": [["source": "a", "target": "Y"]],
                        ]
                    ],
                    ["Edge target with id \"Y\" could not be found among nodes."]
                ),
                (FlowFixtures.flow(extra: ["cron": "61 * * * *"]), ["Invalid cron expression."]),
                (FlowFixtures.flow(extra: ["status": "active"]), ["Flow status cannot be set manually. Use the flow start/stop end points instead."]),
            ]
            for (body, expected) in cases.map({ (Self.named($0.0), $0.1) }) {
                let response = try await env.call(.post, "/flows", token: alice.token, json: body)
                #expect(response.status == .badRequest, "\(body)")
                #expect(response.messages == expected, "\(body)")
            }
            // Two problems at once are both listed.
            let both = try await env.call(.post, "/flows", token: alice.token, json: FlowFixtures.flow(extra: ["cron": "x", "status": "active"]))
            #expect(
                Set(both.messages) == [
                    "Invalid cron expression.",
                    "Flow status cannot be set manually. Use the flow start/stop end points instead.",
                ])
            // OIH's fixed sentence, and beside it which field was wrong and why.
            let cron = try await env.call(.post, "/flows", token: alice.token, json: Self.named(FlowFixtures.flow(extra: ["cron": "61 * * * *"])))
            let entry = cron.json?["errors"]?.arrayValue?.first
            #expect(entry?["reason"] == "INVALID_CRON")
            #expect(entry?["detail"] == "the minute field has '61', not a value in 0-59")
            let details = (both.json?["errors"]?.arrayValue ?? []).compactMap { $0["detail"]?.stringValue }
            #expect(
                details == ["expected 5 fields (minute hour day month weekday) or 6 with leading seconds, found 1"],
                "only the cron entry has a detail")

            let id = try #require(try await env.createFlow(token: alice.token)["id"]?.stringValue)
            for (body, expected) in cases.dropFirst() {
                let response = try await env.call(.patch, "/flows/\(id)", token: alice.token, json: body)
                #expect(response.status == .badRequest, "PATCH \(body)")
                #expect(response.messages == expected, "PATCH \(body)")
            }
            let removedGraph = try await env.call(.patch, "/flows/\(id)", token: alice.token, json: ["graph": .null])
            #expect(removedGraph.messages == ["Flows require a graph."])
            #expect(try await env.call(.get, "/flows/\(id)", token: alice.token).json?["data"]?["name"] == "Sync contacts")
        }
    }

    @Test("a flow is invisible to other tenants and users: empty lists, 404s, recorded NOT_VISIBLE", arguments: Backend.allCases)
    func visibility(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let admin = try await env.adminToken()
            let alice = try await env.user("alice", tenant: "t1")
            let colleague = try await env.user("colleague", tenant: "t1")
            let bob = try await env.user("bob", tenant: "t2")
            let id = try #require(try await env.createFlow(token: alice.token)["id"]?.stringValue)

            for uri in ["/flows", "/flows?filter%5Buser%5D=\(alice.id)", "/flows?filter[user]=t1"] {
                let list = try await env.call(.get, uri, token: bob.token)
                #expect(list.status == .ok)
                #expect(list.json?["data"]?.arrayValue?.isEmpty == true, "\(uri)")
                #expect(list.json?["meta"]?["total"] == 0, "\(uri)")
            }
            let requestID = "flow-visibility-\(backend)"
            let hidden = try await env.call(.get, "/flows/\(id)", token: bob.token, requestID: requestID)
            #expect(hidden.status == .notFound)
            #expect(hidden.messages == ["No flow found"])
            #expect(try await env.call(.patch, "/flows/\(id)", token: bob.token, json: ["name": "mine"]).status == .notFound)
            #expect(try await env.call(.delete, "/flows/\(id)", token: bob.token).status == .notFound)
            #expect(try await env.call(.post, "/flows/\(id)/start", token: bob.token).status == .notFound)
            #expect(try await env.call(.post, "/flows/\(id)/stop", token: bob.token).status == .notFound)
            let denied = try await env.resourceDecisions(of: requestID, outcome: "deny", reason: "NOT_VISIBLE", admin: admin)
            // A missing flow leaves the same record, and neither names the owning tenant.
            _ = try await env.call(.get, "/flows/aaaaaaaaaaaaaaaaaaaaaaaa", token: bob.token, requestID: "\(requestID)-missing")
            let missing = try await env.resourceDecisions(of: "\(requestID)-missing", outcome: "deny", reason: "NOT_VISIBLE", admin: admin)
            #expect(denied.first?["resource"]?["tenant"] == nil)
            #expect(missing.first?["resource"]?["tenant"] == nil)
            #expect(denied.first?["resource"]?["type"] == missing.first?["resource"]?["type"])

            // The tenant owner makes it visible to a colleague; the platform admin sees every flow.
            let seen = try await env.call(.get, "/flows/\(id)", token: colleague.token, requestID: "flow-colleague-\(backend)")
            #expect(seen.status == .ok)
            _ = try await env.resourceDecisions(of: "flow-colleague-\(backend)", outcome: "allow", reason: "TENANT", admin: admin)
            #expect(try await env.call(.get, "/flows", token: admin).json?["meta"]?["total"] == 1)
            #expect(try await env.call(.get, "/flows/\(id)", token: admin).status == .ok)
            // Still there, unchanged.
            #expect(try await env.call(.get, "/flows/\(id)", token: alice.token).json?["data"]?["name"] == "Sync contacts")
        }
    }

    @Test("owners outside the caller's tenant are refused and recorded; owners inside are added", arguments: Backend.allCases)
    func ownership(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let admin = try await env.adminToken()
            let alice = try await env.user("alice", tenant: "t1")
            let carol = try await env.user("carol", tenant: "t1")
            let bob = try await env.user("bob", tenant: "t2")
            let foreign = try await env.call(
                .post, "/flows", token: alice.token, json: FlowFixtures.flow(extra: ["owners": [["id": .string(bob.id), "type": "user"]]]),
                requestID: "flow-foreign-\(backend)")
            #expect(foreign.status == .badRequest)
            #expect(foreign.errorReason == "FOREIGN_OWNER")
            _ = try await env.resourceDecisions(of: "flow-foreign-\(backend)", outcome: "deny", reason: "FOREIGN_OWNER", admin: admin)
            let foreignTenant = try await env.call(
                .post, "/flows", token: alice.token, json: FlowFixtures.flow(extra: ["owners": [["id": "t2", "type": "tenant"]]]))
            #expect(foreignTenant.errorReason == "FOREIGN_OWNER")
            let otherTenant = try await env.call(.post, "/flows", token: alice.token, json: FlowFixtures.flow(extra: ["tenant": "t2"]))
            #expect(otherTenant.errorReason == "FOREIGN_TENANT")
            #expect(try await env.call(.get, "/flows", token: admin).json?["meta"]?["total"] == 0)

            let shared = try await env.createFlow(
                FlowFixtures.flow(extra: ["owners": [["id": .string(carol.id), "type": "user"]]]), token: alice.token)
            let owners = Set((shared["owners"]?.arrayValue ?? []).compactMap { $0["id"]?.stringValue })
            #expect(owners == [alice.id, carol.id, "t1"])
            let id = try #require(shared["id"]?.stringValue)
            // A PATCH cannot hand the flow to another tenant either.
            let handOver = try await env.call(
                .patch, "/flows/\(id)", token: alice.token, json: ["owners": [["id": .string(bob.id), "type": "user"]]])
            #expect(handOver.errorReason == "FOREIGN_OWNER")
            // The flow's tenant stays an owner, so that no member hides it from the others and the tenant admin.
            let hidden = try await env.call(
                .patch, "/flows/\(id)", token: carol.token, json: ["owners": [["id": .string(carol.id), "type": "user"]]],
                requestID: "flow-hide-\(backend)")
            #expect(hidden.errorReason == "TENANT_OWNER_REQUIRED")
            _ = try await env.resourceDecisions(of: "flow-hide-\(backend)", outcome: "deny", reason: "TENANT_OWNER_REQUIRED", admin: admin)
            let narrowed = try await env.call(
                .patch, "/flows/\(id)", token: alice.token,
                json: ["owners": [["id": .string(alice.id), "type": "user"], ["id": "t1", "type": "tenant"]]])
            #expect(narrowed.status == .ok)
            // A platform user's flow has no tenant: the list must still name its author.
            let loner = try await env.user("loner", tenant: nil)
            let own = try #require(try await env.createFlow(token: loner.token)["id"]?.stringValue)
            let orphan = try await env.call(.patch, "/flows/\(own)", token: loner.token, json: ["owners": []], requestID: "flow-orphan-\(backend)")
            #expect(orphan.errorReason == "OWNERS_EXCLUDE_CALLER")
            _ = try await env.resourceDecisions(of: "flow-orphan-\(backend)", outcome: "deny", reason: "OWNERS_EXCLUDE_CALLER", admin: admin)

            // Only a platform admin moves a flow to another tenant, or out of every tenant.
            for tenant: JSONValue in ["t2", .null] {
                let moveFlow = try await env.call(.patch, "/flows/\(id)", token: alice.token, json: ["tenant": tenant])
                #expect(moveFlow.errorReason == "FOREIGN_TENANT", "\(tenant)")
            }
            // A service account (another flow's token, say) is not a user owner.
            let service = try #require(
                try await env.call(.post, "/api/v1/service-accounts", token: admin, json: ["name": "robot", "tenant": "t1"]).json?["data"]?["id"]?
                    .stringValue)
            let robotOwner = try await env.call(
                .patch, "/flows/\(id)", token: alice.token,
                json: [
                    "owners": [
                        ["id": .string(service), "type": "user"], ["id": .string(alice.id), "type": "user"], ["id": "t1", "type": "tenant"],
                    ]
                ])
            #expect(robotOwner.errorReason == "FOREIGN_OWNER")

            // An account moved to another tenant loses its old tenant's flows, its own included.
            let move = try await env.call(
                .post, "/api/v1/tenants/t2/users", token: admin, json: ["user": .string(alice.id), "roles": ["builtin-user"]])
            #expect(move.status == .ok)
            let moved = try await env.login("alice", "password-of-alice")
            for (method, uri, body) in [
                (HTTPRequest.Method.get, "/flows/\(id)", nil), (.patch, "/flows/\(id)", ["tenant": "t2"] as JSONValue),
                (.post, "/flows/\(id)/start", nil), (.delete, "/flows/\(id)", nil),
            ] {
                #expect(try await env.call(method, uri, token: moved, json: body).status == .notFound, "\(method) \(uri)")
            }
            #expect(try await env.call(.get, "/flows", token: moved).json?["meta"]?["total"] == 0)
            #expect(try await env.call(.get, "/flows/\(id)", token: bob.token).status == .notFound)
            #expect(try await env.call(.get, "/flows/\(id)", token: carol.token).status == .ok)
        }
    }

    @Test("every flow route needs a token (401) and its permission (403)", arguments: Backend.allCases)
    func authentication(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let reader = try await env.user("reader", tenant: "t1", roles: [], permissions: ["logs.read"])
            let routes: [(HTTPRequest.Method, String, JSONValue?)] = [
                (.get, "/flows", nil), (.post, "/flows", FlowFixtures.flow()), (.patch, "/flows/bulk", []),
                (.get, "/flows/abc", nil), (.patch, "/flows/abc", ["name": "x"]), (.delete, "/flows/abc", nil),
                (.post, "/flows/abc/start", nil), (.post, "/flows/abc/stop", nil), (.post, "/flows/multiple/start", ["abc"]),
                (.post, "/flows/multiple/stop", ["abc"]), (.post, "/flows/abc/credentials", nil), (.get, "/flows/abc/steps/s1/logs", nil),
            ]
            for (method, uri, body) in routes {
                let anonymous = try await env.call(method, uri, token: nil, json: body)
                #expect(anonymous.status == .unauthorized, "\(method) \(uri)")
                #expect(anonymous.headers[.wwwAuthenticate]?.hasPrefix("Bearer") == true, "\(method) \(uri)")
                #expect(try await env.call(method, uri, token: "forged.token.value", json: body).status == .unauthorized, "\(method) \(uri)")
                let forbidden = try await env.call(method, uri, token: reader.token, json: body)
                #expect(forbidden.status == .forbidden, "\(method) \(uri)")
                #expect(forbidden.errorReason == "MISSING_PERMISSION", "\(method) \(uri)")
            }
        }
    }

    @Test("bad input: malformed JSON, wrong types, wrong content type, hostile and malformed ids", arguments: Backend.allCases)
    func badInput(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let alice = try await env.user("alice", tenant: "t1")
            let id = try #require(try await env.createFlow(token: alice.token)["id"]?.stringValue)
            let malformed = try await env.client.execute(
                uri: "/flows", method: .post, headers: [.authorization: "Bearer \(alice.token)", .contentType: "application/json"],
                body: ByteBuffer(string: "{\"name\": "))
            #expect(malformed.status == .badRequest)
            #expect(malformed.errorReason == "MALFORMED_JSON")
            let text = try await env.client.execute(
                uri: "/flows", method: .post, headers: [.authorization: "Bearer \(alice.token)", .contentType: "text/plain"],
                body: ByteBuffer(string: "{}"))
            #expect(text.status == .unsupportedMediaType)
            let wrongTypes = try await env.call(.post, "/flows", token: alice.token, json: FlowFixtures.flow(extra: ["name": 5, "owners": "me"]))
            #expect(wrongTypes.status == .badRequest)
            #expect(Set(wrongTypes.messages) == ["name must be a string.", "owners must be an array of at most 50 owners."])
            #expect(try await env.call(.post, "/flows", token: alice.token, json: "a string").status == .badRequest)
            #expect(try await env.call(.patch, "/flows/\(id)", token: alice.token, json: ["a", "b"]).status == .badRequest)
            for hostile in [
                "/flows/..%2F..%2Fetc", "/flows/%00", "/flows/' OR 1=1 --".addingPercentEncoding(withAllowedCharacters: .urlPathAllowed)!,
                "/flows/" + String(repeating: "a", count: 300), "/flows/ZZZZ",
            ] {
                let response = try await env.call(.get, hostile, token: alice.token)
                #expect([.notFound, .badRequest].contains(response.status), "\(hostile): \(response.status)")
                #expect(response.status != .internalServerError)
            }
            #expect(try await env.call(.get, "/flows/not-a-flow-id", token: alice.token).status == .notFound)
            // Giant flows are refused (every status change writes and publishes the whole flow).
            let giant = try await env.call(
                .post, "/flows", token: alice.token,
                json: FlowFixtures.flow(extra: [
                    "description": "d",
                    "graph": [
                        "nodes": [
                            ["id": "a", "componentId": "c", "function": "f", "fields": ["blob": .string(String(repeating: "x", count: 300_000))]]
                        ],
                        "edges": [],
                    ],
                ]))
            #expect(giant.status == .badRequest)
            #expect(giant.messages == ["flow must be at most 256 KiB of JSON."])
            // Ids the caller sends are echoed short: a 10,000-character id comes back as 64.
            let long = String(repeating: "b", count: 10_000)
            let echoed = try await env.call(.post, "/flows/multiple/start", token: alice.token, json: [.string(long)])
            #expect(echoed.json?.arrayValue?.first?["errors"]?.arrayValue?.first?["flowId"]?.stringValue?.count == 64)
            let longPath = try await env.call(.get, "/nothing/" + String(repeating: "p", count: 5_000), token: alice.token)
            #expect(longPath.errorReason == "NO_ROUTE")
            #expect((longPath.messages.first?.count ?? .max) < 300, "the path is not echoed whole")
            // The literal segments of /flows/multiple/start and /flows/bulk shadow /flows/{id} as in the router.
            let multiple = try await env.call(.get, "/flows/multiple", token: alice.token)
            #expect(multiple.status == .notFound)
            #expect(multiple.errorReason == "NO_ROUTE")
            let bulkDelete = try await env.call(.delete, "/flows/bulk", token: alice.token)
            #expect(bulkDelete.status == .methodNotAllowed)
            #expect(bulkDelete.headers[.allow] == "PATCH")
            for query in [
                "filter%5Bstatus%5D=running", "filter%5Btype%5D=odd", "sort=owner", "sort=--name", "page%5Bsize%5D=101", "page%5Bsize%5D=0",
                "filter%5Bname%5D=x", "sortt=name", "filter%5Buser%5D=%00", "search=%00", "search=%FF",
                "filter%5Bstatus%5D=active&filter%5Bstatus%5D=zz",
            ] {
                let response = try await env.call(.get, "/flows?\(query)", token: alice.token)
                #expect(response.status == .badRequest, "\(query)")
            }
            // NUL cannot be stored in PostgreSQL text: refused as input on both backends, never a 500.
            // JSON kept as written is bounded too: depth, and NUL in keys or values.
            var deep: JSONValue = "bottom"
            for _ in 0..<40 { deep = ["x": deep] }
            let deepFlow = FlowFixtures.flow(extra: [
                "graph": ["nodes": [["id": "a", "componentId": "c", "function": "f", "fields": deep]], "edges": []]
            ])
            #expect(
                try await env.call(.post, "/flows", token: alice.token, json: deepFlow).messages == [
                    "graph.nodes[0].fields must be JSON nested at most 32 levels deep."
                ])
            let nulFields = FlowFixtures.flow(extra: [
                "graph": ["nodes": [["id": "a", "componentId": "c", "function": "f", "fields": ["k\u{0}": "v"]]], "edges": []]
            ])
            #expect(
                try await env.call(.post, "/flows", token: alice.token, json: nulFields).messages == [
                    "graph.nodes[0].fields must be JSON without NUL characters."
                ])
            let nul = try await env.call(.post, "/flows", token: alice.token, json: FlowFixtures.flow(name: "a\u{0}b"))
            #expect(nul.status == .badRequest)
            #expect(nul.messages == ["name must be a string without NUL characters."])
            let heavy = try await env.call(
                .post, "/flows", token: alice.token, json: FlowFixtures.flow(name: "a" + String(repeating: "\u{0301}", count: 100_000)))
            #expect(heavy.messages == ["name must be a string of at most 60 characters."])
            let notIDs = try await env.call(.post, "/flows/multiple/start", token: alice.token, json: ["ids": [.string(id)]])
            #expect(notIDs.status == .badRequest)
            let mixed = try await env.call(.post, "/flows/multiple/start", token: alice.token, json: [.string(id), 5])
            #expect(mixed.status == .badRequest)
            // Nothing changed.
            #expect(try await env.call(.get, "/flows/\(id)", token: alice.token).json?["data"]?["status"] == "inactive")
        }
    }
}
