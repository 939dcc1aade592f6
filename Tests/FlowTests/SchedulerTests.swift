import Foundation
import GatewayTestSupport
import HTTPTypes
import HummingbirdTesting
import Messaging
import PortcullisCore
import Scheduler
import Storage
import TestSupport
import Testing

@Suite("Scheduler")
struct SchedulerTests {
    /// The `scheduledFor` of every message on step_1 so far, leased with the flow token.
    static func fired(_ env: IdentityEnvironment, _ id: String, token: String) async throws -> [String] {
        var all: [String] = []
        while true {
            let batch = try await WebhookTests.lease(env, id, token: token)
            all += batch.compactMap { $0["metadata"]?["scheduledFor"]?.stringValue }
            if batch.isEmpty { return all.sorted() }
        }
    }

    @Test("a 6-field every-second flow fires once per second on the first node, and stops with the flow", arguments: Backend.allCases)
    func everySecond(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let (id, alice, token) = try await WebhookTests.hookFlow(env, extra: ["cron": "*/1 * * * * *"])
            let queue = FlowQueueNames.messages(flowID: id, nodeID: "step_1")
            #expect(try await eventually(timeout: .seconds(20)) { try await env.messaging.queues.depth(queue) >= 3 })
            let seen = try await Self.fired(env, id, token: token)
            let seconds = seen.compactMap(Timestamp.parse).map { Int64($0.timeIntervalSince1970.rounded()) }
            #expect(Set(seconds).count == seconds.count, "no second twice: \(seen)")
            #expect(seconds.last! - seconds.first! == Int64(seconds.count - 1), "no second missing: \(seen)")
            // /schedules shows it to its owner, in UTC.
            let schedules = try await env.call(.get, "/schedules", token: alice)
            #expect(schedules.json?["data"]?.arrayValue?.first?["flowId"] == .string(id))
            #expect(schedules.json?["data"]?.arrayValue?.first?["cronTimezone"] == "UTC")
            #expect(schedules.json?["data"]?.arrayValue?.first?["dueExecution"]?.stringValue != nil)
            let outsider = try await env.user("outsider", tenant: "t2", permissions: ["schedules.read"])
            #expect(try await env.call(.get, "/schedules", token: outsider.token).json?["meta"]?["total"] == 0)

            #expect(try await env.call(.post, "/flows/\(id)/stop", token: alice).status == .ok)
            #expect(try await env.flowStatus(id, becomes: "inactive", token: alice) != nil)
            let state = try await env.database.first("SELECT state, due_at FROM scheduler_flows WHERE flow_id = \(id)")
            #expect(try state?.string("state") == "stopped")
            #expect(try state?.optionalInt("due_at") == nil)
            #expect(try await env.call(.get, "/schedules", token: alice).json?["meta"]?["total"] == 0)
        }
    }

    @Test("runs missed while no replica was up fire once, with the next run counted from now", arguments: Backend.allCases)
    func missedRuns(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let (id, _, token) = try await WebhookTests.hookFlow(env, extra: ["cron": "0 * * * *"])
            #expect(
                try await eventually {
                    try await env.database.first("SELECT state FROM scheduler_flows WHERE flow_id = \(id)")?.string("state") == "active"
                })
            // As if the gateway had been down for three hours past a due time.
            let missed = Timestamp.milliseconds(Date()) - 3 * 3_600_000
            try await env.database.execute("UPDATE scheduler_flows SET due_at = \(missed) WHERE flow_id = \(id)")
            let runner = ScheduleRunner(
                database: env.database, queues: env.messaging.queues, signals: env.messaging.signals, clock: .system, logger: TestDatabases.logger)
            #expect(try await runner.fireDue() == 1)
            #expect(try await runner.fireDue() == 0)
            let fired = try await Self.fired(env, id, token: token)
            #expect(fired == [Timestamp.format(Timestamp.date(milliseconds: missed))])
            let due = try #require(try await env.database.first("SELECT due_at FROM scheduler_flows WHERE flow_id = \(id)")?.optionalInt("due_at"))
            #expect(due > Timestamp.milliseconds(Date()))
            #expect(due - Timestamp.milliseconds(Date()) <= 3_600_000)
        }
    }
}
