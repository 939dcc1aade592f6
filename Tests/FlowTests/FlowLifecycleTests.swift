import AuditLog
import DeadLetters
import FlowRepository
import Foundation
import GatewayKit
import GatewayTestSupport
import HTTPTypes
import HummingbirdTesting
import IAM
import Messaging
import NIOCore
import PortcullisCore
import Storage
import TestSupport
import Testing

@Suite("Flow lifecycle through the bus")
struct FlowLifecycleTests {
    /// The modules without the orchestrator: the tests play its part by publishing its events.
    static let withoutOrchestrator: [any GatewayModule.Type] = [IAMModule.self, AuditModule.self, DeadLetterModule.self, FlowModule.self]

    static func token(_ env: IdentityEnvironment, clientID: String, secret: String) async throws -> TestResponse {
        let body =
            "grant_type=client_credentials&client_id=\(clientID)&client_secret=\(secret.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)"
        return try await env.client.execute(
            uri: "/oauth2/token", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"], body: ByteBuffer(string: body))
    }

    static func publish(_ env: IdentityEnvironment, _ name: String, _ payload: JSONValue, requestID: String? = nil) async throws -> Event {
        let event = try Event(name: name, serviceName: "orchestrator", payload: payload, requestID: requestID, now: Date())
        try await env.messaging.bus.publish(event)
        return event
    }

    /// The audit records named `name` of `requestID`.
    static func audit(_ env: IdentityEnvironment, _ name: String, requestID: String, admin: String) async throws -> [JSONValue] {
        let response = try await env.call(.get, "/logs?filter%5BrequestId%5D=\(requestID)&page%5Bsize%5D=100", token: admin)
        return (response.json?["data"]?.arrayValue ?? []).filter { $0["name"]?.stringValue == name }
    }

    @Test(
        "start makes a flow active with a flow token, stop makes it inactive and revokes the token; every step is in /logs",
        arguments: Backend.allCases)
    func startAndStop(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let admin = try await env.adminToken()
            let alice = try await env.user("alice", tenant: "t1")
            let id = try #require(try await env.createFlow(token: alice.token)["id"]?.stringValue)
            let startID = "flow-start-\(backend)"
            let started = try await env.call(.post, "/flows/\(id)/start", token: alice.token, requestID: startID)
            #expect(started.status == .ok)
            #expect(started.json?["data"] == ["id": .string(id), "status": "starting"])
            let active = try #require(try await env.flowStatus(id, becomes: "active", token: alice.token))
            #expect(active["startedBy"]?.stringValue == alice.id)
            let clientID = try #require(active["flowToken"]?["clientId"]?.stringValue)
            // The token's account owns the flow while it runs, and only the flow manages it.
            let tokenAccount = try #require(active["owners"]?.arrayValue?.first { $0["type"] == "service" }?["id"]?.stringValue)
            let manage = try await env.call(.patch, "/api/v1/users/\(tokenAccount)", token: admin, json: ["permissions": ["all"]])
            #expect(manage.status == .conflict)
            #expect(manage.errorReason == "FLOW_ACCOUNT")
            #expect(try await env.call(.delete, "/api/v1/users/\(tokenAccount)", token: admin).errorReason == "FLOW_ACCOUNT")
            #expect(try await env.call(.post, "/api/v1/service-accounts/\(tokenAccount)/secret", token: admin).errorReason == "FLOW_ACCOUNT")
            let join = try await env.call(
                .post, "/api/v1/tenants/t1/users", token: admin, json: ["user": .string(tokenAccount), "roles": ["builtin-user"]])
            #expect(join.errorReason == "FLOW_ACCOUNT")
            #expect(try await env.call(.delete, "/api/v1/tenants/t1/user/\(tokenAccount)", token: admin).errorReason == "FLOW_ACCOUNT")

            // The seed's chain under one request id: the request, the start, the orchestrator's answer.
            let chain: @Sendable () async throws -> Set<String> = {
                let response = try await env.call(.get, "/logs?filter%5BrequestId%5D=\(startID)&page%5Bsize%5D=100", token: admin)
                return Set((response.json?["data"]?.arrayValue ?? []).compactMap { $0["name"]?.stringValue })
            }
            #expect(
                try await eventually {
                    try await chain().isSuperset(of: ["audit.authz.decision", "audit.flow.start_requested", "audit.flow.started"])
                })

            // Running flows do not change.
            #expect(try await env.call(.post, "/flows/\(id)/start", token: alice.token).status == .conflict)
            #expect(try await env.call(.patch, "/flows/\(id)", token: alice.token, json: ["name": "x"]).status == .conflict)
            #expect(try await env.call(.delete, "/flows/\(id)", token: alice.token).status == .conflict)

            // The token's secret is handed out once per rotation; it works for queues.consume and nothing else.
            let rotated = try await env.call(.post, "/flows/\(id)/credentials", token: alice.token)
            #expect(rotated.status == .ok)
            #expect(rotated.headers[.cacheControl] == "no-store")
            #expect(rotated.json?["data"]?["clientId"]?.stringValue == clientID)
            let secret = try #require(rotated.json?["data"]?["clientSecret"]?.stringValue)
            let issued = try await Self.token(env, clientID: clientID, secret: secret)
            #expect(issued.status == .ok)
            let flowToken = try #require(issued.json?["access_token"]?.stringValue)
            #expect(try await env.call(.get, "/flows", token: flowToken).status == .forbidden)
            #expect(try await env.call(.get, "/api/v1/users/me", token: flowToken).json?["data"]?["permissions"] == ["queues.consume"])
            // Nobody renames a flow's account, the flow's own token included.
            let renamed = try await env.call(.patch, "/api/v1/users/me", token: flowToken, json: ["firstname": "Tenant Admin"])
            #expect(renamed.status == .conflict)
            #expect(renamed.errorReason == "FLOW_ACCOUNT")
            // The secret never reaches the audit log.
            let records = try await env.call(.get, "/logs?page%5Bsize%5D=100", token: admin)
            #expect(!records.bodyText.contains(secret))

            let stopped = try await env.call(.post, "/flows/\(id)/stop", token: alice.token)
            #expect(stopped.json?["data"] == ["id": .string(id), "status": "stopping"])
            let inactive = try #require(try await env.flowStatus(id, becomes: "inactive", token: alice.token))
            #expect(inactive["flowToken"] == nil)
            #expect(inactive["owners"]?.arrayValue?.contains { $0["type"] == "service" } == false)
            #expect(try await Self.token(env, clientID: clientID, secret: secret).status == .unauthorized)
            #expect(try await eventually { try await env.call(.get, "/flows", token: flowToken).status == .unauthorized })
            #expect(try await env.call(.post, "/flows/\(id)/stop", token: alice.token).status == .conflict)
            #expect(try await env.call(.post, "/flows/\(id)/credentials", token: alice.token).status == .conflict)

            // Again and again: each start gets a new token, each stop ends it.
            var clients: Set<String> = [clientID]
            for _ in 0..<2 {
                #expect(try await env.call(.post, "/flows/\(id)/start", token: alice.token).status == .ok)
                let again = try #require(try await env.flowStatus(id, becomes: "active", token: alice.token))
                clients.insert(try #require(again["flowToken"]?["clientId"]?.stringValue))
                #expect(try await env.call(.post, "/flows/\(id)/stop", token: alice.token).status == .ok)
                #expect(try await env.flowStatus(id, becomes: "inactive", token: alice.token) != nil)
            }
            #expect(clients.count == 3)
            let queues = try await env.database.query("SELECT queue FROM orchestrator_queues WHERE flow_id = \(id)")
            #expect(queues.isEmpty)
            #expect(try await env.database.query("SELECT flow_id FROM iam_flow_accounts").isEmpty)
            #expect(try await env.call(.delete, "/flows/\(id)", token: alice.token).status == .ok)
        }
    }

    @Test("flow.failed stops a starting flow with its reason; a repeated or late event changes nothing", arguments: Backend.allCases)
    func failure(backend: Backend) async throws {
        try await withIdentityGateway(backend, modules: Self.withoutOrchestrator) { env in
            let admin = try await env.adminToken()
            try await env.messaging.bus.bind(group: "probe", patterns: ["flow.stopping"])
            let alice = try await env.user("alice", tenant: "t1")
            let id = try #require(try await env.createFlow(token: alice.token)["id"]?.stringValue)
            #expect(try await env.call(.post, "/flows/\(id)/start", token: alice.token).status == .ok)
            #expect(try await env.call(.get, "/flows/\(id)", token: alice.token).json?["data"]?["status"] == "starting")

            let failed = try await Self.publish(
                env, "flow.failed", ["id": .string(id), "reason": "Component image not found"], requestID: "fail-\(backend)")
            let stopping = try #require(try await env.flowStatus(id, becomes: "stopping", token: alice.token))
            #expect(stopping["statusReason"] == "Component image not found")
            // The repository asked the orchestrator to clean up.
            #expect(try await eventually { try await env.messaging.store.depth(queue: DatabaseEventBus.queueName(group: "probe")) == 1 })

            // The same event again, and a late flow.started: nothing changes.
            try await env.messaging.bus.publish(failed)
            _ = try await Self.publish(env, "flow.started", ["id": .string(id)])
            _ = try await Self.publish(env, "flow.stopped", ["id": .string(id)], requestID: "fail-\(backend)")
            let inactive = try #require(try await env.flowStatus(id, becomes: "inactive", token: alice.token))
            #expect(inactive["statusReason"] == "Component image not found")
            #expect(try await env.messaging.store.depth(queue: DatabaseEventBus.queueName(group: "probe")) == 1)
            let records = try await env.records(of: "fail-\(backend)", count: 2, admin: admin)
            #expect(records.filter { $0["name"] == "audit.flow.failed" }.count == 1)
            #expect(records.filter { $0["name"] == "audit.flow.stopped" }.count == 1)

            // A stop of a starting flow is accepted and ends inactive (no flow is stuck half-started).
            #expect(try await env.call(.post, "/flows/\(id)/start", token: alice.token).status == .ok)
            let stop = try await env.call(.post, "/flows/\(id)/stop", token: alice.token)
            #expect(stop.json?["data"]?["status"] == "stopping")
            _ = try await Self.publish(env, "flow.stopped", ["id": .string(id)])
            #expect(try await env.flowStatus(id, becomes: "inactive", token: alice.token) != nil)
        }
    }

    @Test("multiple start and stop answer per id; an unknown or invisible id is an error entry", arguments: Backend.allCases)
    func multiple(backend: Backend) async throws {
        try await withIdentityGateway(backend, modules: Self.withoutOrchestrator) { env in
            let alice = try await env.user("alice", tenant: "t1")
            let bob = try await env.user("bob", tenant: "t2")
            let first = try #require(try await env.createFlow(token: alice.token)["id"]?.stringValue)
            let second = try #require(try await env.createFlow(token: alice.token)["id"]?.stringValue)
            let bobs = try #require(try await env.createFlow(token: bob.token)["id"]?.stringValue)
            let unknown = "aaaaaaaaaaaaaaaaaaaaaaaa"
            let response = try await env.call(
                .post, "/flows/multiple/start", token: alice.token, json: [.string(first), .string(unknown), .string(bobs), .string(second)])
            #expect(response.status == .ok)
            let items = try #require(response.json?.arrayValue)
            #expect(items.count == 4)
            #expect(items[0]["data"] == ["id": .string(first), "status": "starting"])
            #expect(items[1]["errors"]?.arrayValue?.first?["flowId"]?.stringValue == unknown)
            #expect(items[1]["errors"]?.arrayValue?.first?["code"] == 404)
            #expect(items[2]["errors"]?.arrayValue?.first?["code"] == 404)
            #expect(items[3]["data"]?["status"] == "starting")
            #expect(try await env.call(.get, "/flows/\(bobs)", token: bob.token).json?["data"]?["status"] == "inactive")

            let again = try await env.call(.post, "/flows/multiple/start", token: alice.token, json: [.string(first)])
            #expect(again.json?.arrayValue?.first?["errors"]?.arrayValue?.first?["code"] == 409)
            let stop = try await env.call(
                .post, "/flows/multiple/stop", token: alice.token, json: [.string(first), .string(unknown), .string(bobs), .string(second)])
            let stops = try #require(stop.json?.arrayValue)
            #expect(stops.compactMap { $0["data"]?["status"]?.stringValue } == ["stopping", "stopping"])
            #expect(stops[1]["errors"]?.arrayValue?.first?["flowId"]?.stringValue == unknown)
            #expect(stops[1]["errors"]?.arrayValue?.first?["code"] == 404)
            #expect(stops[2]["errors"]?.arrayValue?.first?["code"] == 404, "another tenant's flow is unknown to the caller")
        }
    }

    @Test(
        "deleting a user removes it from the owners and stops flows left without any; deleting a tenant stops its flows", arguments: Backend.allCases)
    func deletions(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let admin = try await env.adminToken()
            // A platform user (no tenant): its flow has it as the only owner.
            let loner = try await env.user("loner", tenant: nil)
            let orphan = try #require(try await env.createFlow(token: loner.token)["id"]?.stringValue)
            #expect(try await env.call(.post, "/flows/\(orphan)/start", token: loner.token).status == .ok)
            #expect(try await env.flowStatus(orphan, becomes: "active", token: admin) != nil)

            let tenant = try #require(
                try await env.call(.post, "/api/v1/tenants", token: admin, json: ["name": "acme"]).json?["data"]?["id"]?.stringValue)
            let member = try await env.user("member", tenant: tenant)
            let tenantFlow = try #require(try await env.createFlow(token: member.token)["id"]?.stringValue)
            #expect(try await env.call(.post, "/flows/\(tenantFlow)/start", token: member.token).status == .ok)
            #expect(try await env.flowStatus(tenantFlow, becomes: "active", token: admin) != nil)

            #expect(try await env.call(.delete, "/api/v1/users/\(loner.id)", token: admin).status == .noContent)
            let stopped = try #require(try await env.flowStatus(orphan, becomes: "inactive", token: admin))
            #expect(stopped["owners"]?.arrayValue?.isEmpty == true)
            #expect(stopped["statusReason"] == "Every owner of the flow was deleted.")

            #expect(try await env.call(.delete, "/api/v1/tenants/\(tenant)", token: admin).status == .noContent)
            let tenantStopped = try #require(try await env.flowStatus(tenantFlow, becomes: "inactive", token: admin))
            #expect(tenantStopped["statusReason"] == "The flow's tenant was deleted.")
        }
    }
}
