import Foundation
import GatewayTestSupport
import HTTPTypes
import HummingbirdTesting
import PortcullisCore
import Storage
import TestSupport
import Testing

/// Starts and stops of one flow sent at once, over HTTP, through every module: whatever order the
/// requests and the events take, the modules end up agreeing on whether the flow runs.
@Suite("Concurrent lifecycle requests")
struct FlowRaceTests {
    /// What each module holds for flow `id`, as one line, once they agree; nil while they do not.
    static func agreement(_ env: IdentityEnvironment, _ id: String, token: String) async throws -> String? {
        let flow = try await env.call(.get, "/flows/\(id)", token: token).json?["data"]
        let status = flow?["status"]?.stringValue
        let accounts = try await env.database.query("SELECT account_id FROM iam_flow_accounts WHERE flow_id = \(id)").count
        let queues = try await env.database.query("SELECT queue FROM orchestrator_queues WHERE flow_id = \(id)").map { try $0.string("queue") }
        let provisioned = try await env.database.query("SELECT queue FROM bus_queues WHERE queue LIKE \("flow-\(id):%")").count
        let webhook = try await env.database.first("SELECT state FROM webhook_flows WHERE flow_id = \(id)")?.string("state")
        switch status {
        case "active":
            guard flow?["flowToken"]?["clientId"] != nil, accounts == 1, queues.count == 2, provisioned == 2, webhook == "active" else { return nil }
        case "inactive":
            guard flow?["flowToken"] == nil, accounts == 0, queues.isEmpty, provisioned == 0, webhook == "stopped" else { return nil }
        default:
            return nil
        }
        return status
    }

    /// The modules' agreement once they reach one within 30 s; nil when they never do.
    static func settled(_ env: IdentityEnvironment, _ id: String, token: String) async throws -> String? {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if let agreed = try await Self.agreement(env, id, token: token) { return agreed }
            try await Task.sleep(for: .milliseconds(50))
        }
        return nil
    }

    @Test("starts and stops of one flow at once leave the repository, orchestrator, IAM, queues and webhooks agreeing", arguments: Backend.allCases)
    func startsAndStopsAtOnce(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let alice = try await env.user("alice", tenant: "t1")
            let id = try #require(try await env.createFlow(token: alice.token)["id"]?.stringValue)
            for _ in 0..<5 {
                let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                    for index in 0..<8 {
                        let action = index % 2 == 0 ? "start" : "stop"
                        group.addTask { try await env.call(.post, "/flows/\(id)/\(action)", token: alice.token).status.code }
                    }
                    return try await group.reduce(into: [Int]()) { $0.append($1) }
                }
                // Each request is taken or refused as a conflict with the state it met; none fails.
                #expect(statuses.allSatisfy { $0 == 200 || $0 == 409 }, "\(statuses)")
                #expect(statuses.contains(200), "one of eight requests met a state it could change")
                _ = try #require(try await Self.settled(env, id, token: alice.token), "the modules never agreed on flow \(id)")
            }
            // Whatever the rounds left: a stop ends everything the starts made.
            if try await env.call(.get, "/flows/\(id)", token: alice.token).json?["data"]?["status"]?.stringValue == "active" {
                #expect(try await env.call(.post, "/flows/\(id)/stop", token: alice.token).status == .ok)
            }
            #expect(try await eventually(timeout: .seconds(30)) { try await Self.agreement(env, id, token: alice.token) == "inactive" })
            #expect(try await env.database.query("SELECT account_id FROM iam_flow_accounts").isEmpty)
            #expect(try await env.database.query("SELECT queue FROM bus_queues WHERE queue LIKE 'flow-%'").isEmpty)
        }
    }
}
