import Foundation
import GatewayTestSupport
import Messaging
import Orchestrator
import PortcullisCore
import Storage
import TestSupport
import Testing

@Suite("Orchestrator")
struct OrchestratorTests {
    static let group = "probe"

    /// The orchestrator's answers so far, in order, as `name id [reason]`.
    static func answers(_ env: IdentityEnvironment) async throws -> [String] {
        try await env.database.query("SELECT body FROM bus_messages WHERE queue = \(DatabaseEventBus.queueName(group: Self.group)) ORDER BY seq")
            .map { row in
                let event = try JSONCoding.decode(Event.self, from: try row.string("body"))
                return ([event.name, event.payload["id"]?.stringValue ?? "?"] + (event.payload["reason"]?.stringValue.map { [$0] } ?? []))
                    .joined(separator: " ")
            }
    }

    static func starting(_ id: String, nodes: [String], tenant: String? = nil, version: Int64 = 1) throws -> Event {
        let payload: JSONValue = [
            "id": .string(id), "tenant": tenant.map(JSONValue.string) ?? .null, "lifecycleVersion": .int(version),
            "graph": ["nodes": .array(nodes.map { ["id": .string($0), "componentId": "c", "function": "f"] }), "edges": []],
        ]
        return try Event(name: "flow.starting", serviceName: "flow-repository", payload: payload, requestID: "r-\(id)", now: Date())
    }

    static func stopping(_ id: String, version: Int64 = 2) throws -> Event {
        try Event(
            name: "flow.stopping", serviceName: "flow-repository", payload: ["id": .string(id), "lifecycleVersion": .int(version)] as JSONValue,
            now: Date())
    }

    @Test("the same flow.starting twice provisions once and answers once; a stop of an unknown flow is answered", arguments: Backend.allCases)
    func idempotent(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            try await env.messaging.bus.bind(group: Self.group, patterns: ["flow.started", "flow.stopped", "flow.failed"])
            let flow = "a1a1a1a1a1a1a1a1a1a1a1a1"
            let start = try Self.starting(flow, nodes: ["step_1", "step_2"])
            try await env.messaging.bus.publish(start)
            #expect(try await eventually { try await Self.answers(env).count >= 1 })
            // The same event again, once the first copy is handled and gone: a true redelivery.
            try await env.messaging.bus.publish(start)
            // Handled in order: once this answer is there, the second copy of the start was handled.
            try await env.messaging.bus.publish(try Self.stopping("b2b2b2b2b2b2b2b2b2b2b2b2"))
            #expect(try await eventually { try await Self.answers(env).count >= 2 })
            #expect(try await Self.answers(env) == ["flow.started \(flow)", "flow.stopped b2b2b2b2b2b2b2b2b2b2b2b2"])
            let queues = try await env.database.query("SELECT queue FROM orchestrator_queues WHERE flow_id = \(flow) ORDER BY queue").map {
                try $0.string("queue")
            }
            #expect(queues == ["flow-\(flow):step_1:messages", "flow-\(flow):step_2:messages"])
            #expect(try await env.database.query("SELECT account_id FROM iam_flow_accounts WHERE flow_id = \(flow)").count == 1)
            // The started answer carries the start's request id and the token's client id.
            let body = try #require(
                try await env.database.first("SELECT body FROM bus_messages WHERE queue = 'bus:probe' ORDER BY seq")?.string("body"))
            let started = try JSONCoding.decode(Event.self, from: body)
            #expect(started.headers.requestID == "r-\(flow)")
            #expect(started.payload["flowToken"]?["clientId"]?.stringValue?.hasPrefix("sa_") == true)

            // A stop removes the queues with their messages and the account.
            try await env.messaging.queues.enqueue("flow-\(flow):step_1:messages", messageID: "m", message: ["x": 1])
            try await env.messaging.bus.publish(try Self.stopping(flow))
            #expect(try await eventually { try await Self.answers(env).count >= 3 })
            #expect(try await Self.answers(env).last == "flow.stopped \(flow)")
            #expect(try await env.messaging.store.depth(queue: "flow-\(flow):step_1:messages") == 0)
            #expect(try await env.database.query("SELECT queue FROM orchestrator_queues WHERE flow_id = \(flow)").isEmpty)
            #expect(try await env.database.query("SELECT account_id FROM iam_flow_accounts WHERE flow_id = \(flow)").isEmpty)
        }
    }

    @Test("a start that cannot succeed answers flow.failed with the reason; an older start after a stop is ignored", arguments: Backend.allCases)
    func failures(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            try await env.messaging.bus.bind(group: Self.group, patterns: ["flow.started", "flow.stopped", "flow.failed"])
            let empty = "c3c3c3c3c3c3c3c3c3c3c3c3"
            try await env.messaging.bus.publish(try Self.starting(empty, nodes: []))
            let ghost = "d4d4d4d4d4d4d4d4d4d4d4d4"
            try await env.messaging.bus.publish(try Self.starting(ghost, nodes: ["a"], tenant: "no-such-tenant"))
            // A stop, then the start of the round before it (a late retry): the start changes nothing.
            let late = "e5e5e5e5e5e5e5e5e5e5e5e5"
            try await env.messaging.bus.publish(try Self.stopping(late, version: 2))
            try await env.messaging.bus.publish(try Self.starting(late, nodes: ["a"], version: 1))
            try await env.messaging.bus.publish(try Self.stopping("f6f6f6f6f6f6f6f6f6f6f6f6"))
            #expect(try await eventually { try await Self.answers(env).count >= 4 })
            #expect(
                try await Self.answers(env) == [
                    "flow.failed \(empty) The flow has no nodes.",
                    "flow.failed \(ghost) The flow's tenant does not exist or is disabled.",
                    "flow.stopped \(late)",
                    "flow.stopped f6f6f6f6f6f6f6f6f6f6f6f6",
                ])
            #expect(try await env.database.query("SELECT queue FROM orchestrator_queues").isEmpty)
            #expect(try await env.database.query("SELECT account_id FROM iam_flow_accounts").isEmpty)
        }
    }
}
