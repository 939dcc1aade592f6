import Foundation
import PortcullisCore
import Storage
import TestSupport
import Testing

@testable import Messaging
@testable import Scheduler

/// Many flows due at once: the firing loop's batches, on the scheduler's and the queues' tables directly.
@Suite("Scheduler batches")
struct SchedulerBatchTests {
    /// Messaging and the scheduler's tables on a fresh database, and a firing loop over them, for `body`.
    static func withScheduler(
        _ backend: Backend, pollInterval: Duration = .seconds(5), _ body: @Sendable (any Database, Messaging, ScheduleRunner) async throws -> Void
    ) async throws {
        try await withMessaging(backend, pollInterval: pollInterval) { database, messaging in
            try await MigrationRunner(database: database, migrations: SchedulerMigrations.all, logger: TestDatabases.logger).migrate()
            let runner = ScheduleRunner(
                database: database, queues: messaging.queues, signals: messaging.signals, clock: .system, logger: TestDatabases.logger)
            try await body(database, messaging, runner)
        }
    }

    /// An active every-second flow of round 1, due at `due`, with its first node's queue provisioned.
    static func everySecondFlow(_ flow: String, due: Int64, messaging: Messaging, on connection: any DatabaseConnection) async throws {
        let queue = FlowQueueNames.messages(flowID: flow, nodeID: "step_1")
        try await connection.execute(
            "INSERT INTO scheduler_flows (flow_id, state, version, cron, queue, due_at) VALUES (\(flow), 'active', 1, '* * * * * *', \(queue), \(due))"
        )
        try await messaging.store.provisionQueues([queue], round: 1, on: connection)
    }

    @Test(
        "flows due at the same time fire once each across several batches; a stopped run, a later run and a fired one do not fire again",
        arguments: Backend.allCases)
    func manyDueAtOnce(backend: Backend) async throws {
        try await Self.withScheduler(backend) { database, messaging, runner in
            let count = 1_203  // more than one batch
            let due = (Timestamp.milliseconds(Date()) / 1000 - 1) * 1000
            let queue = { (index: Int) in FlowQueueNames.messages(flowID: "f\(index)", nodeID: "step_1") }
            try await database.transaction { connection in
                for start in stride(from: 0, to: count, by: 100) {
                    var insert: SQLQuery = "INSERT INTO scheduler_flows (flow_id, state, version, cron, queue, due_at) VALUES "
                    for index in start..<min(start + 100, count) {
                        insert.append("\(unsafe: index == start ? "" : ", ")(\("f\(index)"), 'active', 1, '0 0 1 1 *', \(queue(index)), \(due))")
                    }
                    try await connection.execute(insert)
                }
                // f0's queue belongs to a later run, f1 has none (stopping); the others run in round 1.
                try await messaging.store.provisionQueues([queue(0)], round: 2, on: connection)
                try await messaging.store.provisionQueues((2..<count).map(queue), round: 1, on: connection)
            }
            // f2's execution was put on its queue already (by another replica's batch that then lost its answer).
            #expect(try await messaging.queues.enqueue(intoProvisioned: queue(2), round: 1, messageID: "scheduled:f2:\(due)", message: .null))

            // Each call fires for about a second at most (then the loop marks that it is up): called until done.
            var fired = 0
            while case let more = try await runner.fireDue(), more > 0 { fired += more }
            #expect(fired == count - 3)

            let depths = try await database.query("SELECT queue, COUNT(*) AS n FROM bus_messages GROUP BY queue")
            #expect(depths.count == count - 2)
            #expect(try depths.allSatisfy { try $0.int("n") == 1 })
            #expect(try await messaging.queues.depth(queue(0)) == 0)
            #expect(try await messaging.queues.depth(queue(1)) == 0)
            // Every row moved on to the next 1 January, having fired `due`.
            let next = try #require(Schedules.next(cron: "0 0 1 1 *", timezone: nil, after: Date())).timeIntervalSince1970
            let moved = try await database.first(
                "SELECT COUNT(*) AS n FROM scheduler_flows WHERE due_at = \(Int64(next * 1000)) AND last_at = \(due)")?.int("n")
            #expect(moved == Int64(count))

            // A message as a component gets it.
            let message = try #require(try await messaging.queues.lease(queue(700), max: 1, visibility: .seconds(30), wait: .zero).first)
            #expect(message.messageID == "scheduled:f700:\(due)")
            let body = try JSONCoding.decode(JSONValue.self, from: message.body)
            #expect(body["metadata"]?["scheduledFor"] == .string(Timestamp.format(milliseconds: due)))
            #expect(body["metadata"]?["nextScheduledFor"] == .string(Timestamp.format(milliseconds: Int64(next * 1000))))
            #expect(body["metadata"]?["source"]?["name"] == "scheduler")
        }
    }

    @Test("a scheduled message's text is what encoding it as a JSON value with sorted keys gives")
    func messageText() throws {
        for next in ["2027-01-01T00:00:00.000Z", nil] {
            let text = ScheduleRunner.message(id: "0193-id", scheduledFor: "2026-12-03T07:00:00.000Z", nextScheduledFor: next)
            let decoded = try JSONCoding.decode(JSONValue.self, from: text)
            let execID = try #require(decoded["metadata"]?["source"]?["externalExecId"]?.stringValue)
            #expect(UUID(uuidString: execID) != nil)
            let expected: JSONValue = [
                "id": "0193-id", "attachments": [:], "body": [:], "headers": [:],
                "metadata": [
                    "source": ["name": "scheduler", "type": "scheduler", "externalExecId": .string(execID)],
                    "scheduledFor": "2026-12-03T07:00:00.000Z",
                    "nextScheduledFor": next.map { .string($0) } ?? .null,
                ],
            ]
            #expect(text == (try JSONCoding.string(expected)))
        }
    }

    @Test(
        "an execution due within the lookahead is written now and leased only from its due time; one due later is not written yet",
        arguments: Backend.allCases)
    func writtenAhead(backend: Backend) async throws {
        // The poll is longer than the wait: only the lease's own wait for the message's time can deliver it.
        try await Self.withScheduler(backend, pollInterval: .seconds(120)) { database, messaging, runner in
            let now = Timestamp.milliseconds(Date())
            // An every-second flow due 1.5 s from now (written ahead by hand: within a second), and one due after
            // the lookahead.
            let soon = now + 1_500
            let later = now + ScheduleRunner.lookaheadMilliseconds + 2_000
            let queue = { (flow: String) in FlowQueueNames.messages(flowID: flow, nodeID: "step_1") }
            try await database.transaction { connection in
                for (flow, due) in [("soon", soon), ("later", later)] {
                    try await Self.everySecondFlow(flow, due: due, messaging: messaging, on: connection)
                }
            }
            // No loop has said it is up (nothing covers past due times), yet the row written ahead moves on to
            // the second after its own due time, not to the next second from now (which would come before it).
            #expect(try await runner.fireDue() == 1)
            let next = try #require(Schedules.next(cron: "* * * * * *", timezone: nil, after: Timestamp.date(milliseconds: soon)))
            #expect(
                try await database.first("SELECT due_at FROM scheduler_flows WHERE flow_id = 'soon'")?.int("due_at") == Timestamp.milliseconds(next))
            #expect(try await messaging.queues.depth(queue("soon")) == 1)
            #expect(try await messaging.queues.depth(queue("later")) == 0)
            // Written, but not to be leased before its time.
            #expect(try await messaging.queues.lease(queue("soon"), max: 1, visibility: .seconds(30), wait: .zero).isEmpty)
            let visibleAt = try await database.first("SELECT visible_at FROM bus_messages WHERE queue = \(queue("soon"))")?.int("visible_at")
            #expect(visibleAt == soon)
            // A waiting lease gets it once it is due.
            let leased = try await messaging.queues.lease(queue("soon"), max: 1, visibility: .seconds(30), wait: .seconds(10))
            #expect(leased.map(\.messageID) == ["scheduled:soon:\(soon)"])
            #expect(Timestamp.milliseconds(Date()) >= soon)
        }
    }

    @Test(
        "a flow.stopping handled by the scheduler withdraws what the loop wrote ahead, keeps what is due, and the loop writes nothing more",
        arguments: Backend.allCases)
    func stopWithdrawsWrittenAhead(backend: Backend) async throws {
        try await Self.withScheduler(backend, pollInterval: .seconds(120)) { database, messaging, runner in
            let now = Timestamp.milliseconds(Date())
            let soon = now + 1_500
            let queue = FlowQueueNames.messages(flowID: "f", nodeID: "step_1")
            try await database.transaction { connection in
                try await Self.everySecondFlow("f", due: soon, messaging: messaging, on: connection)
                // An execution of an earlier second, due already: the stop leaves it to the queue's removal.
                try await messaging.store.enqueue(
                    [MessageStore.Outgoing(queue: queue, messageID: "scheduled:f:\(now - 1_000)", body: "{}", visibleAt: now - 1_000)], on: connection
                )
            }
            #expect(try await runner.fireDue() == 1)
            #expect(try await messaging.queues.depth(queue) == 2)

            // The handler's clock stands just before `soon`: the execution due then is still ahead of it however
            // slowly the test runs, and the earlier one (visible from when it was written) is behind it.
            let dueVisibleAt = try await database.first("SELECT visible_at FROM bus_messages WHERE message_id = \("scheduled:f:\(now - 1_000)")")
            #expect(try #require(dueVisibleAt).int("visible_at") < soon - 1)
            let schedules = Schedules(database: database, clock: WallClock { Timestamp.date(milliseconds: soon - 1) }, logger: TestDatabases.logger)
            let stopping = try Event(
                name: "flow.stopping", serviceName: "flow-repository", payload: ["id": "f", "lifecycleVersion": 2] as JSONValue, now: Date())
            let delivery = Delivery(group: Schedules.group, attempts: 1, eventID: stopping.id, database: database, clock: .system)
            try await schedules.handle(stopping, delivery)

            let left = try await database.query("SELECT message_id FROM bus_messages WHERE queue = \(queue)").map { try $0.string("message_id") }
            #expect(left == ["scheduled:f:\(now - 1_000)"])
            let row = try await database.first("SELECT state, version, due_at FROM scheduler_flows WHERE flow_id = 'f'")
            #expect(try row?.string("state") == "stopped")
            #expect(try row?.int("version") == 2)
            #expect(try row?.optionalInt("due_at") == nil)
            #expect(try await runner.fireDue() == 0)
            #expect(try await messaging.queues.depth(queue) == 1)
        }
    }
}
