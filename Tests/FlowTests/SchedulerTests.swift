import Foundation
import GatewayTestSupport
import HTTPTypes
import HummingbirdTesting
import Messaging
import PortcullisCore
import Storage
import TestSupport
import Testing

@testable import Scheduler

@Suite("Scheduler")
struct SchedulerTests {
    /// The `scheduledFor` of every firing on step_1 so far, leased and acked with the flow token as a
    /// component would. Counted by firing, not by delivery: each firing's message has its own `id`, and a
    /// message delivered again (an ack refused on a loaded machine, so its lease ran out) is the same
    /// firing, while a due time fired twice would be two ids with one `scheduledFor`.
    static func fired(_ env: IdentityEnvironment, _ id: String, token: String) async throws -> [String] {
        var firings: [String: String] = [:]
        try await Self.fired(env, id, token: token, into: &firings)
        return firings.values.sorted()
    }

    /// ``fired(_:_:token:)`` into `firings` (message id to `scheduledFor`), across several calls.
    static func fired(_ env: IdentityEnvironment, _ id: String, token: String, into firings: inout [String: String]) async throws {
        while true {
            let leased =
                try await env.call(.post, FlowQueueTests.path(id, "step_1", "/lease"), token: token, json: ["max": 100]).json?["data"]?
                .arrayValue ?? []
            for item in leased {
                let message = item["message"]
                if let firing = message?["id"]?.stringValue, let scheduledFor = message?["metadata"]?["scheduledFor"]?.stringValue {
                    firings[firing] = scheduledFor
                }
                let messageID = item["messageId"]?.stringValue ?? ""
                _ = try await env.call(
                    .post, FlowQueueTests.path(id, "step_1", "/\(messageID)/ack"), token: token, json: ["leaseId": item["leaseId"] ?? .null])
            }
            if leased.isEmpty { return }
        }
    }

    @Test("a 6-field every-second flow fires once per second on the first node, and stops with the flow", arguments: Backend.allCases)
    func everySecond(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let (id, alice, token) = try await WebhookTests.hookFlow(env, extra: ["cron": "*/1 * * * * *"])
            let queue = FlowQueueNames.messages(flowID: id, nodeID: "step_1")
            #expect(try await eventually(timeout: .seconds(20)) { try await env.messaging.queues.depth(queue) >= 1 })
            // Drained and acked as they come for 4 s: a second firing of a due time would be a new message.
            var firings: [String: String] = [:]
            let end = ContinuousClock.now + .seconds(4)
            while ContinuousClock.now < end {
                try await Self.fired(env, id, token: token, into: &firings)
                try await Task.sleep(for: .milliseconds(300))
            }
            let seen = firings.values.sorted()
            #expect(seen.count >= 3)
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
            // Stopped: nothing more is enqueued for it (the step log would show it).
            let enqueued: @Sendable () async throws -> Int = {
                try await env.database.query("SELECT seq FROM bus_queue_journal WHERE queue = \(queue) AND event = 'enqueued'").count
            }
            let before = try await enqueued()
            try await Task.sleep(for: .seconds(2))
            #expect(try await enqueued() == before)
            let state = try await env.database.first("SELECT state, due_at FROM scheduler_flows WHERE flow_id = \(id)")
            #expect(try state?.string("state") == "stopped")
            #expect(try state?.optionalInt("due_at") == nil)
            #expect(try await env.call(.get, "/schedules", token: alice).json?["meta"]?["total"] == 0)
        }
    }

    @Test("/schedules needs a token and schedules.read, pages strictly, and records its listing decision", arguments: Backend.allCases)
    func schedulesInput(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let admin = try await env.adminToken()
            let alice = try await env.user("alice", tenant: "t1")
            #expect(try await env.call(.get, "/schedules", token: nil).status == .unauthorized)
            #expect(try await env.call(.get, "/schedules", token: "not-a-token").status == .unauthorized)
            let plain = try await env.user("plain", tenant: "t1", roles: [])
            #expect(try await env.call(.get, "/schedules", token: plain.token).status == .forbidden)
            for query in ["page%5Bsize%5D=0", "page%5Bsize%5D=101", "page%5Bnumber%5D=x"] {
                let bad = try await env.call(.get, "/schedules?\(query)", token: alice.token)
                #expect(bad.status == .badRequest, "\(query)")
            }
            let listed = try await env.call(.get, "/schedules", token: alice.token, requestID: "schedules-\(backend)")
            #expect(listed.status == .ok)
            #expect(listed.json?["meta"]?["total"] == 0)
            _ = try await env.resourceDecisions(of: "schedules-\(backend)", outcome: "allow", reason: "OWNED_ONLY", admin: admin)
        }
    }

    @Test("a loop that was up but late fires every due time it passed, each once", arguments: Backend.allCases)
    func lateIsNotMissed(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let (id, _, token) = try await WebhookTests.hookFlow(env, extra: ["cron": "0 0 1 1 *"])
            #expect(
                try await eventually {
                    try await env.database.first("SELECT state FROM scheduler_flows WHERE flow_id = \(id)")?.string("state") == "active"
                })
            // A loop up for a minute, and an every-second schedule 5 s behind: as if the machine had been too busy to fire.
            let now = Timestamp.milliseconds(Date())
            let due = (now / 1000 - 5) * 1000
            try await env.database.execute("INSERT INTO scheduler_runners (runner_id, since, alive_at) VALUES ('busy', \(now - 60_000), \(now))")
            try await env.database.execute("UPDATE scheduler_flows SET cron = '* * * * * *', due_at = \(due) WHERE flow_id = \(id)")
            let runner = ScheduleRunner(
                database: env.database, queues: env.messaging.queues, signals: env.messaging.signals, clock: .system, logger: TestDatabases.logger)
            while try await runner.fireDue() > 0 {}
            let seconds = try await Self.fired(env, id, token: token).compactMap(Timestamp.parse).map { Int64($0.timeIntervalSince1970.rounded()) }
            #expect(seconds.first == due / 1000)
            #expect(seconds.count >= 6)
            #expect(Set(seconds).count == seconds.count, "no second twice: \(seconds)")
            #expect(seconds.last! - seconds.first! + 1 == Int64(seconds.count), "no second missing: \(seconds)")
        }
    }

    @Test(
        "a mark after a break in the marks (the database was away) starts a new series; marks within the tolerance go on", arguments: Backend.allCases
    )
    func markSeries(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let runner = ScheduleRunner(
                database: env.database, queues: env.messaging.queues, signals: env.messaging.signals, clock: .system, logger: TestDatabases.logger)
            let now = Timestamp.milliseconds(Date())
            let first = ScheduleRunner.continued(nil, at: now)
            #expect(first == ScheduleRunner.MarkSeries(since: now, last: now))
            let next = ScheduleRunner.continued(first, at: now + 1_000)
            #expect(next == ScheduleRunner.MarkSeries(since: now, last: now + 1_000), "a sign of life soon after the last goes on with its series")
            // The last sign of life a minute ago: the loop was not up in between, so it covers nothing before now.
            let after = ScheduleRunner.continued(next, at: now + 61_000)
            #expect(after == ScheduleRunner.MarkSeries(since: now + 61_000, last: now + 61_000))
            try await runner.markAlive("series", series: next)
            try await runner.markAlive("series", series: after)
            let stored = try await env.database.first("SELECT since FROM scheduler_runners WHERE runner_id = 'series'")?.int("since")
            #expect(stored == after.since)
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
            let started = Timestamp.milliseconds(Date())
            let missed = started - 3 * 3_600_000
            try await env.database.execute("UPDATE scheduler_flows SET due_at = \(missed) WHERE flow_id = \(id)")
            // The gateway's own loop (up since long after that due time) or this one fires it: once, either way.
            let runner = ScheduleRunner(
                database: env.database, queues: env.messaging.queues, signals: env.messaging.signals, clock: .system, logger: TestDatabases.logger)
            try await runner.fireDue()
            try await runner.fireDue()
            let queue = FlowQueueNames.messages(flowID: id, nodeID: "step_1")
            #expect(try await eventually { try await env.messaging.queues.depth(queue) >= 1 })
            let fired = try await Self.fired(env, id, token: token).map { Timestamp.parse($0).map(Timestamp.milliseconds) ?? -1 }
            // The missed hours fire once, as one run; a run after them is only the next full hour, when the test
            // happens to cross one.
            #expect(fired.filter { $0 < started } == [missed])
            #expect(fired.filter { $0 >= started }.allSatisfy { $0 % 3_600_000 == 0 }, "\(fired)")
            let due = try #require(try await env.database.first("SELECT due_at FROM scheduler_flows WHERE flow_id = \(id)")?.optionalInt("due_at"))
            #expect(due > Timestamp.milliseconds(Date()))
            #expect(due - Timestamp.milliseconds(Date()) <= 3_600_000)
        }
    }
}
