import Foundation
import GatewayKit
import GatewayTestSupport
import HTTPTypes
import HummingbirdTesting
import Messaging
import Orchestrator
import PortcullisCore
import Storage
import TestSupport
import Testing

/// What the lifecycle publishes and records, as the other modules and the audit log see it.
@Suite("Flow events and records")
struct FlowContractTests {
    /// The events the probe group `group` received, in order.
    static func received(_ env: IdentityEnvironment, group: String) async throws -> [Event] {
        try await env.database.query("SELECT body FROM bus_messages WHERE queue = \(DatabaseEventBus.queueName(group: group)) ORDER BY seq")
            .map { try JSONCoding.decode(Event.self, from: try $0.string("body")) }
    }

    @Test("flow.starting carries the whole flow and who started it; flow.stopping the flow and its round", arguments: Backend.allCases)
    func lifecyclePayloads(backend: Backend) async throws {
        try await withIdentityGateway(backend, modules: FlowLifecycleTests.withoutOrchestrator) { env in
            try await env.messaging.bus.bind(group: "probe", patterns: ["flow.starting", "flow.stopping"])
            let alice = try await env.user("alice", tenant: "t1")
            let created = try await env.createFlow(FlowFixtures.flow(extra: ["cron": "*/5 * * * *"]), token: alice.token)
            let id = try #require(created["id"]?.stringValue)
            #expect(try await env.call(.post, "/flows/\(id)/start", token: alice.token, requestID: "payload-start").status == .ok)
            #expect(try await env.call(.post, "/flows/\(id)/stop", token: alice.token, requestID: "payload-stop").status == .ok)
            let events = try await Self.received(env, group: "probe")
            #expect(events.map(\.name) == ["flow.starting", "flow.stopping"])
            let starting = try #require(events.first)
            #expect(starting.headers.requestID == "payload-start")
            #expect(starting.payload["id"]?.stringValue == id)
            #expect(starting.payload["startedBy"]?.stringValue == alice.id)
            #expect(starting.payload["name"] == created["name"])
            #expect(starting.payload["graph"] == created["graph"], "the whole graph, as stored")
            #expect(starting.payload["cron"] == "*/5 * * * *")
            #expect(starting.payload["owners"] == created["owners"])
            #expect(starting.payload["lifecycleVersion"] != nil)
            let stopping = try #require(events.last)
            #expect(stopping.headers.requestID == "payload-stop")
            #expect(stopping.payload["id"]?.stringValue == id)
            func round(_ event: Event) -> Int64? {
                if case .int(let version)? = event.payload["lifecycleVersion"] { return version }
                return nil
            }
            let startRound = try #require(round(starting))
            #expect(round(stopping) ?? 0 > startRound, "a stop is a later round than its start")
        }
    }

    @Test("created, modified and deleted are audit records naming the acting user and the request", arguments: Backend.allCases)
    func changeRecords(backend: Backend) async throws {
        try await withIdentityGateway(backend, modules: FlowLifecycleTests.withoutOrchestrator) { env in
            let admin = try await env.adminToken()
            let alice = try await env.user("alice", tenant: "t1")
            let created = try await env.call(.post, "/flows", token: alice.token, json: FlowFixtures.flow(), requestID: "audit-create-\(backend)")
            let id = try #require(created.json?["data"]?["id"]?.stringValue)
            #expect(
                try await env.call(.patch, "/flows/\(id)", token: alice.token, json: ["name": "renamed"], requestID: "audit-patch-\(backend)").status
                    == .ok)
            #expect(try await env.call(.delete, "/flows/\(id)", token: alice.token, requestID: "audit-delete-\(backend)").status == .ok)
            for (action, requestID) in [("created", "audit-create"), ("modified", "audit-patch"), ("deleted", "audit-delete")] {
                let name = "audit.flow.\(action)"
                #expect(
                    try await eventually {
                        try await !FlowLifecycleTests.audit(env, name, requestID: "\(requestID)-\(backend)", admin: admin).isEmpty
                    },
                    "\(name) reached the chain")
                let records = try await FlowLifecycleTests.audit(env, name, requestID: "\(requestID)-\(backend)", admin: admin)
                #expect(records.count == 1, "\(name) once")
                #expect(records.first?["actor"]?["sub"]?.stringValue == alice.id, "\(name) names the user who acted")
                #expect(records.first?["resource"]?["id"]?.stringValue == id)
                #expect(records.first?["tenant"] == "t1")
            }
        }
    }

    @Test("a flow of no tenant, shared by two tenants, stays of no tenant: one tenant's user cannot take it", arguments: Backend.allCases)
    func sharedFlow(backend: Backend) async throws {
        try await withIdentityGateway(backend, modules: FlowLifecycleTests.withoutOrchestrator) { env in
            let admin = try await env.adminToken()
            let alice = try await env.user("alice", tenant: "t1")
            let bob = try await env.user("bob", tenant: "t2")
            let shared = try await env.createFlow(
                FlowFixtures.flow(extra: ["owners": [["id": "t1", "type": "tenant"], ["id": "t2", "type": "tenant"]]]), token: admin)
            let id = try #require(shared["id"]?.stringValue)
            #expect(shared["tenant"] == nil || shared["tenant"] == .null)
            let renamed = try await env.call(.patch, "/flows/\(id)", token: alice.token, json: ["name": "mine now"])
            #expect(renamed.status == .ok)
            #expect(renamed.json?["data"]?["tenant"] == nil || renamed.json?["data"]?["tenant"] == .null, "\(renamed.bodyText)")
            #expect(try await env.call(.get, "/flows/\(id)", token: bob.token).status == .ok, "the other tenant still sees it")
            // Dropping the other tenant (or the admin's entries) is the admin's to do.
            let taken = try await env.call(
                .patch, "/flows/\(id)", token: alice.token, json: ["owners": [["id": "t1", "type": "tenant"]]], requestID: "take-\(backend)")
            #expect(taken.status == .badRequest)
            #expect(taken.errorReason == "FOREIGN_OWNER")
            _ = try await env.resourceDecisions(of: "take-\(backend)", outcome: "deny", reason: "FOREIGN_OWNER", admin: admin)
            // Adding oneself (of one's own tenant) next to everyone already there, and leaving again, is fine.
            let owners = try #require(shared["owners"]?.arrayValue)
            let added = try await env.call(
                .patch, "/flows/\(id)", token: alice.token, json: ["owners": .array(owners + [["id": .string(alice.id), "type": "user"]])])
            #expect(added.status == .ok, "\(added.bodyText)")
            let left = try await env.call(.patch, "/flows/\(id)", token: alice.token, json: ["owners": .array(owners)])
            #expect(left.status == .ok, "\(left.bodyText)")
            #expect(try await env.call(.get, "/flows/\(id)", token: bob.token).status == .ok)
        }
    }

    @Test("the flow token's client id is shown only to callers who may control the flow", arguments: Backend.allCases)
    func flowTokenVisibility(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let alice = try await env.user("alice", tenant: "t1")
            let reader = try await env.user("reader", tenant: "t1", roles: [], permissions: ["flows.read"])
            let id = try #require(try await env.createFlow(token: alice.token)["id"]?.stringValue)
            #expect(try await env.call(.post, "/flows/\(id)/start", token: alice.token).status == .ok)
            let active = try #require(try await env.flowStatus(id, becomes: "active", token: alice.token))
            #expect(active["flowToken"]?["clientId"]?.stringValue != nil)
            let seen = try await env.call(.get, "/flows/\(id)", token: reader.token)
            #expect(seen.status == .ok, "the reader sees its tenant's flow")
            #expect(seen.json?["data"]?["status"] == "active")
            #expect(seen.json?["data"]?["flowToken"] == nil, "\(seen.bodyText)")
            // The same cached version of the flow, answered to each as before (each kind of answer kept apart).
            let again = try await env.call(.get, "/flows/\(id)", token: alice.token)
            #expect(again.json?["data"]?["flowToken"]?["clientId"] == active["flowToken"]?["clientId"], "\(again.bodyText)")
            #expect(try await env.call(.get, "/flows/\(id)", token: reader.token).json?["data"]?["flowToken"] == nil)
            let listed = try await env.call(.get, "/flows", token: reader.token)
            #expect(listed.json?["data"]?.arrayValue?.first?["id"]?.stringValue == id)
            #expect(listed.json?["data"]?.arrayValue?.first?["flowToken"] == nil)
            #expect(try await env.call(.post, "/flows/\(id)/credentials", token: reader.token).status == .forbidden)
        }
    }

    @Test("a start that fails on every try ends in flow.failed with a reason the flow keeps", arguments: Backend.allCases)
    func provisioningExhausted(backend: Backend) async throws {
        try await withIdentityGateway(backend, modules: FlowLifecycleTests.withoutOrchestrator) { env in
            // The orchestrator of the module, with a retry policy short enough to exhaust in a test.
            try await MigrationRunner(database: env.database, migrations: OrchestratorMigrations.all, logger: TestDatabases.logger).migrate()
            let capabilities = env.capabilities
            let retry = RetryPolicy(maxAttempts: 2, baseDelay: .milliseconds(50), maxDelay: .milliseconds(100))
            let orchestrator = Orchestrator(
                database: env.database, messaging: env.messaging, credentials: { try capabilities.require((any FlowCredentials).self) },
                retry: retry, clock: .system, logger: TestDatabases.logger)
            let consumer = Subscription(
                bus: env.messaging.bus, group: Orchestrator.group, patterns: Orchestrator.patterns, options: ConsumerOptions(retry: retry)
            ) { event, delivery in try await orchestrator.handle(event, delivery) }
            try await env.messaging.bus.bind(group: "probe", patterns: ["flow.failed"])
            // Bound now, so that the start's event waits for the consumer even if it starts late.
            try await env.messaging.bus.bind(group: Orchestrator.group, patterns: Orchestrator.patterns)
            let alice = try await env.user("alice", tenant: "t1")
            let id = try #require(try await env.createFlow(token: alice.token)["id"]?.stringValue)
            // A table the orchestrator's start writes to is away: every try fails (a fault, not a refusal).
            try await env.database.execute("ALTER TABLE orchestrator_edges RENAME TO orchestrator_edges_away")
            try await withServices([consumer]) {
                #expect(try await env.call(.post, "/flows/\(id)/start", token: alice.token).status == .ok)
                // Two tries 50-100 ms apart: the wait is a hang detector, long for a loaded machine.
                #expect(try await eventually(timeout: .seconds(60)) { try await !Self.received(env, group: "probe").isEmpty })
                let failed = try await Self.received(env, group: "probe")
                #expect(failed.count == 1)
                #expect(failed.first?.payload["id"]?.stringValue == id)
                #expect(failed.first?.payload["reason"] == "The flow could not be provisioned.")
                let flow = try #require(try await env.flowStatus(id, becomes: "stopping", token: alice.token))
                #expect(flow["statusReason"] == "The flow could not be provisioned.")
            }
        }
    }
}
