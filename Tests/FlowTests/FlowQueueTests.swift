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

@Suite("Flow queues for components")
struct FlowQueueTests {
    /// A started flow of alice's (tenant t1) and an access token of its flow token.
    static func runningFlow(_ env: IdentityEnvironment) async throws -> (id: String, alice: String, flowToken: String) {
        let flow = try await Self.runningFlowCredentials(env)
        let issued = try await FlowLifecycleTests.token(env, clientID: flow.clientID, secret: flow.secret)
        return (flow.id, flow.alice, try #require(issued.json?["access_token"]?.stringValue))
    }

    /// A started flow of alice's (tenant t1) and its flow token's client credentials, freshly rotated.
    static func runningFlowCredentials(_ env: IdentityEnvironment) async throws -> (id: String, alice: String, clientID: String, secret: String) {
        let alice = try await env.user("alice", tenant: "t1")
        let id = try #require(try await env.createFlow(FlowFixtures.flow(nodes: 3), token: alice.token)["id"]?.stringValue)
        #expect(try await env.call(.post, "/flows/\(id)/start", token: alice.token).status == .ok)
        #expect(try await env.flowStatus(id, becomes: "active", token: alice.token) != nil)
        let credentials = try await env.call(.post, "/flows/\(id)/credentials", token: alice.token).json?["data"]
        return (id, alice.token, try #require(credentials?["clientId"]?.stringValue), try #require(credentials?["clientSecret"]?.stringValue))
    }

    static func serviceToken(_ env: IdentityEnvironment, name: String, tenant: String, permissions: [String]) async throws -> String {
        let admin = try await env.adminToken()
        let created = try #require(
            try await env.call(
                .post, "/api/v1/service-accounts", token: admin,
                json: ["name": .string(name), "tenant": .string(tenant), "permissions": .array(permissions.map(JSONValue.string))]
            ).json?["data"])
        let issued = try await FlowLifecycleTests.token(
            env, clientID: try #require(created["clientId"]?.stringValue), secret: try #require(created["clientSecret"]?.stringValue))
        return try #require(issued.json?["access_token"]?.stringValue)
    }

    static func path(_ flow: String, _ step: String, _ rest: String = "") -> String {
        "/flows/\(flow)/steps/\(step)/messages\(rest)"
    }

    @Test("lease, emit along the edges, ack, nack and redelivery after the visibility timeout", arguments: Backend.allCases)
    func leaseAckNackEmit(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let (id, _, token) = try await Self.runningFlow(env)
            try await env.messaging.queues.enqueue(
                FlowQueueNames.messages(flowID: id, nodeID: "step_1"), messageID: "m-1", message: ["hello": "world"])

            let leased = try await env.call(.post, Self.path(id, "step_1", "/lease"), token: token, json: [:])
            #expect(leased.status == .ok)
            let first = try #require(leased.json?["data"]?.arrayValue?.first)
            #expect(first["messageId"] == "m-1")
            #expect(first["attempts"] == 1)
            #expect(first["message"] == ["hello": "world"])
            let lease = try #require(first["leaseId"]?.stringValue)

            // The output goes where step_1's edge leads: step_2 only.
            let emitted = try await env.call(.post, Self.path(id, "step_1"), token: token, json: ["message": ["body": ["n": 1]]])
            #expect(emitted.status == .accepted)
            #expect(emitted.json?["data"]?["targets"] == ["step_2"])
            #expect(try await env.messaging.queues.depth(FlowQueueNames.messages(flowID: id, nodeID: "step_3")) == 0)

            let ack = try await env.call(.post, Self.path(id, "step_1", "/m-1/ack"), token: token, json: ["leaseId": .string(lease)])
            #expect(ack.status == .noContent)
            let again = try await env.call(.post, Self.path(id, "step_1", "/m-1/ack"), token: token, json: ["leaseId": .string(lease)])
            #expect(again.status == .conflict)
            #expect(again.errorReason == "STALE_LEASE")

            // step_2: nack, then the next lease is the second attempt.
            let second = try #require(
                try await env.call(.post, Self.path(id, "step_2", "/lease"), token: token, json: ["max": 10]).json?["data"]?.arrayValue?.first)
            #expect(second["message"] == ["body": ["n": 1]])
            let messageID = try #require(second["messageId"]?.stringValue)
            let nack = try await env.call(
                .post, Self.path(id, "step_2", "/\(messageID)/nack"), token: token,
                json: ["leaseId": second["leaseId"] ?? .null, "retryAfterSeconds": 0])
            #expect(nack.status == .noContent)
            let retried = try #require(
                try await env.call(.post, Self.path(id, "step_2", "/lease"), token: token, json: ["visibilitySeconds": 1]).json?["data"]?.arrayValue?
                    .first)
            #expect(retried["attempts"] == 2)
            // Not settled within its visibility: it comes back, a third attempt.
            let expired = try await eventually(timeout: .seconds(10)) {
                let next = try await env.call(.post, Self.path(id, "step_2", "/lease"), token: token, json: ["waitSeconds": 1])
                return next.json?["data"]?.arrayValue?.first?["attempts"] == 3
            }
            #expect(expired)
            // The old lease is stale now.
            let stale = try await env.call(
                .post, Self.path(id, "step_2", "/\(messageID)/ack"), token: token, json: ["leaseId": retried["leaseId"] ?? .null])
            #expect(stale.status == .conflict)
        }
    }

    @Test("a waiting lease is woken by a message that arrives", arguments: Backend.allCases)
    func longPoll(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let (id, _, token) = try await Self.runningFlow(env)
            // Shorter than the fallback poll (5 s): only the wake-up can deliver it in time.
            async let waiting = env.call(.post, Self.path(id, "step_2", "/lease"), token: token, json: ["waitSeconds": 3])
            try await Task.sleep(for: .milliseconds(300))
            try await env.messaging.queues.enqueue(FlowQueueNames.messages(flowID: id, nodeID: "step_2"), messageID: "late", message: ["x": 1])
            let response = try await waiting
            #expect(response.json?["data"]?.arrayValue?.first?["messageId"] == "late")
        }
    }

    @Test("a message nacked past the configured attempts is dead-lettered and listed", arguments: Backend.allCases)
    func deadLetter(backend: Backend) async throws {
        try await withIdentityGateway(backend, configure: { $0.queueMaxAttempts = 2 }) { env in
            let (id, owner, token) = try await Self.runningFlow(env)
            let queue = FlowQueueNames.messages(flowID: id, nodeID: "step_1")
            try await env.messaging.queues.enqueue(queue, messageID: "poison", message: ["x": 1])
            for attempt in 1...2 {
                let leased = try #require(
                    try await env.call(.post, Self.path(id, "step_1", "/lease"), token: token, json: [:]).json?["data"]?.arrayValue?.first)
                #expect(leased["attempts"] == .int(Int64(attempt)))
                let nack = try await env.call(
                    .post, Self.path(id, "step_1", "/poison/nack"), token: token,
                    json: ["leaseId": leased["leaseId"] ?? .null, "retryAfterSeconds": 0])
                #expect(nack.status == .noContent)
            }
            #expect(try await env.call(.post, Self.path(id, "step_1", "/lease"), token: token, json: [:]).json?["data"] == [])
            let admin = try await env.adminToken()
            let letters = try await env.call(.get, "/api/v1/bus/dead-letters?filter%5Bqueue%5D=\(queue)", token: admin)
            #expect(letters.json?["data"]?.arrayValue?.first?["messageId"] == "poison")
            let log = try await env.call(.get, "/flows/\(id)/steps/step_1/logs", token: token)
            #expect(log.status == .forbidden, "the flow token reads no flows")
            // The owner reads the step's log: two leases, two nacks, the last one dead-lettered.
            let ownersLog = try await env.call(.get, "/flows/\(id)/steps/step_1/logs", token: owner)
            let events = (ownersLog.json?["data"]?.arrayValue ?? []).compactMap { $0["message"]?["event"]?.stringValue }
            #expect(events == ["enqueued", "leased", "nacked", "leased", "dead-lettered"], "\(ownersLog.bodyText)")
            let dead = ownersLog.json?["data"]?.arrayValue?.last?["message"]
            #expect(dead?["messageId"] == "poison")
            #expect(dead?["attempts"] == 2)
            // The dead letter outlives its flow's run, but goes back only to a queue that exists.
            let letter = try #require(letters.json?["data"]?.arrayValue?.first?["id"]?.stringValue)
            #expect(try await env.call(.post, "/flows/\(id)/stop", token: owner).status == .ok)
            #expect(try await env.flowStatus(id, becomes: "inactive", token: owner) != nil)
            let replay = try await env.call(.post, "/api/v1/bus/dead-letters/\(letter)/replay", token: admin)
            #expect(replay.status == .conflict)
            #expect(replay.errorReason == "QUEUE_GONE")
            #expect(try await env.messaging.queues.depth(queue) == 0)
        }
    }

    @Test("only owners of the running flow with queues.consume use its queues; bad input is 400", arguments: Backend.allCases)
    func access(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let admin = try await env.adminToken()
            let (id, alice, token) = try await Self.runningFlow(env)
            let lease = Self.path(id, "step_1", "/lease")
            #expect(try await env.call(.post, lease, token: alice, json: [:]).status == .forbidden, "owners need queues.consume too")
            _ = try await env.user("bob", tenant: "t2")
            let foreign = try await Self.serviceToken(env, name: "foreign", tenant: "t2", permissions: ["queues.consume"])
            let refused = try await env.call(.post, lease, token: foreign, json: [:], requestID: "queue-foreign-\(backend)")
            #expect(refused.status == .notFound)
            _ = try await env.resourceDecisions(of: "queue-foreign-\(backend)", outcome: "deny", reason: "NOT_VISIBLE", admin: admin)
            // Owning through the tenant is not enough: a component account of t1, or another t1 flow's token,
            // reads no queue of this flow.
            let colleague = try await Self.serviceToken(env, name: "worker", tenant: "t1", permissions: ["queues.consume"])
            #expect(try await env.call(.post, lease, token: colleague, json: [:]).status == .notFound)
            let other = try #require(try await env.createFlow(token: alice)["id"]?.stringValue)
            #expect(try await env.call(.post, "/flows/\(other)/start", token: alice).status == .ok)
            #expect(try await env.flowStatus(other, becomes: "active", token: alice) != nil)
            let otherCredentials = try await env.call(.post, "/flows/\(other)/credentials", token: alice).json?["data"]
            let otherClient = try #require(otherCredentials?["clientId"]?.stringValue)
            let otherSecret = try #require(otherCredentials?["clientSecret"]?.stringValue)
            let otherIssued = try await FlowLifecycleTests.token(env, clientID: otherClient, secret: otherSecret)
            let otherToken = try #require(otherIssued.json?["access_token"]?.stringValue)
            #expect(try await env.call(.post, lease, token: otherToken, json: [:]).status == .notFound)
            #expect(try await env.call(.post, Self.path(id, "step_1"), token: otherToken, json: ["message": 1]).status == .notFound)
            #expect(try await env.call(.post, lease, token: token, json: [:]).status == .ok)

            #expect(try await env.call(.post, Self.path(id, "step_9", "/lease"), token: token, json: [:]).status == .notFound)
            #expect(try await env.call(.post, Self.path("ffffffffffffffffffffffff", "step_1", "/lease"), token: token, json: [:]).status == .notFound)
            for body: JSONValue in [
                ["max": 0], ["max": 101], ["visibilitySeconds": 0], ["visibilitySeconds": 3601], ["waitSeconds": 21], ["max": "x"],
            ] {
                #expect(try await env.call(.post, lease, token: token, json: body).status == .badRequest, "\(body)")
            }
            #expect(try await env.call(.post, Self.path(id, "step_1", "/m/ack"), token: token, json: [:]).status == .badRequest)
            #expect(try await env.call(.post, Self.path(id, "step_1", "/m/ack"), token: token, json: ["leaseId": "nope"]).status == .conflict)
            #expect(try await env.call(.post, Self.path(id, "step_1"), token: token, json: ["payload": 1]).status == .badRequest)
            #expect(try await env.call(.post, lease, token: nil, json: [:]).status == .unauthorized)

            // Once the flow stops, its queues are gone for everyone.
            #expect(try await env.call(.post, "/flows/\(id)/stop", token: alice).status == .ok)
            #expect(try await env.flowStatus(id, becomes: "inactive", token: alice) != nil)
            #expect(try await env.call(.post, lease, token: admin, json: [:]).status == .notFound)
        }
    }
}
