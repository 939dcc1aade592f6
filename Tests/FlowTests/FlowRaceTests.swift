import Foundation
import GatewayTestSupport
import HTTPTypes
import HummingbirdTesting
import Messaging
import PortcullisCore
import Storage
import Synchronization
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

    @Test(
        "components emitting while their flow stops are refused once it stops, no transaction is aborted as a deadlock, and nothing is left in the queues",
        arguments: Backend.allCases)
    func emitsWhileStopping(backend: Backend) async throws {
        // Emits and the orchestrator's rounds take the flow's lifecycle lock, then its row, then its queues, in
        // one order, or they could deadlock (PostgreSQL would abort one side: the conflicts are watched). That
        // the lifecycle lock keeps emits that never pause from holding a stop off is shown on the lock itself
        // (`KeyedLockTests`): here the requests arrive in waves behind the decision journal's commits, which
        // leave the stop gaps even without it.
        let conflicts = Notes()
        var hooks = ObservedDatabase.Hooks()
        hooks.conflict = { conflicts.append($0) }
        try await withIdentityGateway(backend, wrapDatabase: { [hooks] in ObservedDatabase(inner: $0, hooks: hooks) }) { env in
            let (id, alice, token) = try await FlowQueueTests.runningFlow(env)
            let accepted = Counter()
            let runs = try await withThrowingTaskGroup(of: [Int].self) { group in
                for emitter in 0..<6 {
                    // Each emits without pause until it is refused (or, if the stop never gets through, for 45 s).
                    group.addTask {
                        var statuses: [Int] = []
                        let end = ContinuousClock.now + .seconds(45)
                        var index = 0
                        while ContinuousClock.now < end {
                            index += 1
                            let step = (emitter + index) % 2 == 0 ? "step_1" : "step_2"
                            let status = try await env.call(
                                .post, FlowQueueTests.path(id, step), token: token, json: ["message": ["n": .int(Int64(index))]]
                            ).status.code
                            statuses.append(status)
                            if status != 202 { break }
                            accepted.add()
                        }
                        return statuses
                    }
                }
                // The stop is sent while the emitters are under way.
                let emitting = await eventually(timeout: .seconds(30)) { accepted.value >= 12 }
                #expect(emitting)
                #expect(try await env.call(.post, "/flows/\(id)/stop", token: alice).status == .ok)
                return try await group.reduce(into: [[Int]]()) { $0.append($1) }
            }
            // Emitted before the stop (202), then refused after it: the flow is gone (404) or its token revoked
            // (401). An emitter that never saw a refusal means the stop did not get through while it emitted.
            #expect(runs.allSatisfy { $0.last != 202 }, "every emitter refused at last: \(runs.map { $0.suffix(3) })")
            #expect(runs.joined().allSatisfy { [202, 404, 401].contains($0) }, "\(runs.map { $0.suffix(3) })")
            #expect(try await Self.settled(env, id, token: alice) == "inactive")
            let queues = ["step_1", "step_2", "step_3"].map { FlowQueueNames.messages(flowID: id, nodeID: $0) }
            #expect(try await env.database.query("SELECT queue FROM bus_queues WHERE queue IN (\(list: queues))").isEmpty)
            #expect(try await env.database.query("SELECT seq FROM bus_messages WHERE queue IN (\(list: queues))").isEmpty)
        }
        #expect(conflicts.all.isEmpty, "\(conflicts.all)")
    }

    /// Runs `body` while another transaction holds `lock` for `key` in `mode`; returns its result.
    static func whileHolding<Result: Sendable>(
        _ env: IdentityEnvironment, _ lock: KeyedLock, _ key: String, _ mode: KeyedLock.Mode,
        _ body: @Sendable () async throws -> Result
    ) async throws -> Result {
        let (release, releaseHolder) = AsyncStream.makeStream(of: Void.self)
        let (held, heldByHolder) = AsyncStream.makeStream(of: Void.self)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await env.database.transaction { connection in
                    try await connection.hold(lock, key: key, mode: mode)
                    heldByHolder.yield()
                    for await _ in release { break }
                }
            }
            for await _ in held { break }
            defer { releaseHolder.finish() }
            return try await body()
        }
    }

    /// How many requests for `lock` (any key) in `mode` wait, in this test's database.
    static func waits(_ env: IdentityEnvironment, _ lock: KeyedLock, _ mode: KeyedLock.Mode) async throws -> Int {
        let query: SQLQuery = """
            SELECT COUNT(*) AS n FROM pg_locks
            WHERE locktype = 'advisory' AND NOT granted AND mode = \(mode == .shared ? "ShareLock" : "ExclusiveLock") AND objsubid = 2 AND classid = CAST(\(Int64(lock.rawValue)) AS OID)
                AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
            """
        return Int(try await env.database.first(query)?.int("n") ?? 0)
    }

    @Test(
        "PostgreSQL: an emit and a webhook call wait for a start or stop under way, and a stop waits for the writes under way (the flow's lifecycle lock)"
    )
    func writersAndStopsTakeTheLifecycleLock() async throws {
        try await withIdentityGateway(.postgres) { env in
            let (id, alice, token) = try await WebhookTests.hookFlow(env)
            // A start or stop under way (the lock held exclusively): an emit and a webhook call wait for it, and
            // are answered once it ends.
            let (emit, hook) = try await Self.whileHolding(env, .flowLifecycle, id, .exclusive) {
                let emit = Task {
                    try await env.call(.post, FlowQueueTests.path(id, "step_1"), token: token, json: ["message": ["n": 1]]).status.code
                }
                let hook = Task {
                    try await WebhookTests.raw(env, .post, "/hook/\(id)", headers: [.contentType: "application/json"], body: #"{"n":2}"#).status.code
                }
                let bothWait = try await eventually { try await Self.waits(env, .flowLifecycle, .shared) == 2 }
                #expect(bothWait, "both wait for the lock")
                return (emit, hook)
            }
            #expect(try await emit.value == 202)
            #expect(try await hook.value == 200)

            // Writes under way (the lock held shared): the orchestrator's stop waits for them (and the scheduler's
            // handling of the stop, shared, waits behind it).
            try await Self.whileHolding(env, .flowLifecycle, id, .shared) {
                #expect(try await env.call(.post, "/flows/\(id)/stop", token: alice).status == .ok)
                #expect(
                    try await eventually { try await Self.waits(env, .flowLifecycle, .exclusive) == 1 }, "the orchestrator's stop waits for the lock")
                let state = try await env.database.first("SELECT state FROM orchestrator_flows WHERE flow_id = \(id)")
                #expect(try state?.string("state") == "started")
            }
            #expect(try await env.flowStatus(id, becomes: "inactive", token: alice) != nil)
        }
    }

    @Test("PostgreSQL: a client_credentials grant waits for a rotation or deletion of its client under way (the client's lock), then is answered")
    func grantsTakeTheClientLock() async throws {
        try await withIdentityGateway(.postgres) { env in
            let (id, _, clientID, secret) = try await FlowQueueTests.runningFlowCredentials(env)
            let account = try #require(try await env.database.first("SELECT account_id FROM iam_flow_accounts WHERE flow_id = \(id)"))
            let grant = try await Self.whileHolding(env, .serviceClient, try account.string("account_id"), .exclusive) {
                let grant = Task { try await FlowLifecycleTests.token(env, clientID: clientID, secret: secret).status.code }
                let waits = try await eventually { try await Self.waits(env, .serviceClient, .shared) == 1 }
                #expect(waits, "the grant waits for the lock")
                return grant
            }
            #expect(try await grant.value == 200)
        }
    }

    @Test(
        "PostgreSQL: a flow's stop takes its token account's row before the account's tokens, as a tenant's deletion does, so the two cannot deadlock"
    )
    func stopLocksAccountBeforeTokens() async throws {
        let conflicts = Notes()
        var hooks = ObservedDatabase.Hooks()
        hooks.conflict = { conflicts.append($0) }
        try await withIdentityGateway(.postgres, wrapDatabase: { [hooks] in ObservedDatabase(inner: $0, hooks: hooks) }) { env in
            let (id, alice, _) = try await FlowQueueTests.runningFlow(env)  // the flow's token account has a token
            let account = try #require(try await env.database.first("SELECT account_id FROM iam_flow_accounts WHERE flow_id = \(id)"))
                .string("account_id")
            let (release, releaseHolder) = AsyncStream.makeStream(of: Void.self)
            let (held, heldByHolder) = AsyncStream.makeStream(of: Void.self)
            try await withThrowingTaskGroup(of: Void.self) { group in
                // A tenant's deletion, as it takes them: the account's row, then (once the stop waits) its tokens.
                group.addTask {
                    try await env.database.transaction { connection in
                        try await connection.execute("SELECT id FROM iam_accounts WHERE id = \(account) FOR UPDATE")
                        heldByHolder.yield()
                        for await _ in release { break }
                        try await connection.execute("UPDATE iam_tokens SET revoked_at = 1 WHERE account_id = \(account)")
                    }
                }
                for await _ in held { break }
                #expect(try await env.call(.post, "/flows/\(id)/stop", token: alice).status == .ok)
                let waiting = try await eventually {
                    try await env.database.first(
                        "SELECT COUNT(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()")?.int("n") == 1
                }
                #expect(waiting, "the stop waits for the account's row")
                releaseHolder.finish()
                // The holder's token update does not wait for the stop (which holds none of the tokens yet) and
                // commits; a stop that had revoked the tokens first would deadlock with it here.
                try await group.waitForAll()
            }
            #expect(try await env.flowStatus(id, becomes: "inactive", token: alice) != nil)
        }
        // Neither side was aborted as a deadlock (the stop's handler would be retried, so only this shows it).
        #expect(conflicts.all.isEmpty, "\(conflicts.all)")
    }
}

/// A count shared by concurrent tasks.
final class Counter: Sendable {
    private let count = Atomic<Int>(0)
    var value: Int { self.count.load(ordering: .relaxed) }
    func add() { self.count.add(1, ordering: .relaxed) }
}

/// Texts noted by concurrent tasks.
final class Notes: Sendable {
    private let notes = Mutex<[String]>([])
    var all: [String] { self.notes.withLock { $0 } }
    func append(_ note: String) { self.notes.withLock { $0.append(note) } }
}
