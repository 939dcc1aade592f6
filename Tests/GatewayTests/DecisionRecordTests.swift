import AuditLog
import Foundation
import Gateway
import GatewayKit
import GatewayTestSupport
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import IAM
import Messaging
import NIOCore
import Policy
import PortcullisCore
import Storage
import TestSupport
import Testing

@Suite("Decision records: every request leaves exactly one, durably, before its response")
struct DecisionRecordTests {
    @Test("mixed requests leave one route record each, findable by request id with the right outcome", arguments: Backend.allCases)
    func everyRequestIsRecorded(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let admin = try await env.adminToken()
            _ = try await env.makeAccount("worker", password: "worker-password-1", roles: ["USER"], tenant: "t1")
            _ = try await env.makeAccount("boss", password: "boss-password-123", roles: ["TENANT_ADMIN"], tenant: "t1")
            let foreign = try await env.makeAccount("stranger", password: "stranger-pass-1", roles: ["USER"], tenant: "t2")
            let user = try await env.login("worker", "worker-password-1")
            let tenantAdmin = try await env.login("boss", "boss-password-123")

            // (method, uri, token, expected status, outcome, reason, rule)
            let cases: [(HTTPRequest.Method, String, String?, HTTPResponse.Status, String, String, String?)] = [
                (.get, "/api/v1/users/me", user, .ok, "allow", "ALLOWED", "own-account"),
                (.get, "/.well-known/jwks.json", nil, .ok, "allow", "PUBLIC", "jwks"),
                (.get, "/api/v1/users", nil, .unauthorized, "deny", "UNAUTHENTICATED", "accounts-read"),
                (.get, "/api/v1/users", "not-a-token", .unauthorized, "deny", "INVALID_TOKEN", "accounts-read"),
                (.post, "/api/v1/tenants", user, .forbidden, "deny", "MISSING_PERMISSION", "tenants-create"),
                (.get, "/no/such/route", user, .notFound, "deny", "NO_ROUTE", nil),
                (.delete, "/login", nil, .notFound, "deny", "NO_ROUTE", nil),
                (.get, "/api/v1/users/\(foreign.id)", tenantAdmin, .notFound, "allow", "ALLOWED", "account-read"),
            ]
            var ids: [String] = []
            for (index, (method, uri, token, status, _, _, _)) in cases.enumerated() {
                let id = "mixed-\(backend)-\(index)-\(UUID().uuidString.prefix(8))"
                ids.append(id)
                let response = try await env.send(method, uri, token: token, requestID: id, json: method == .post ? [:] : nil)
                #expect(response.status == status, "\(method) \(uri)")
            }
            for (id, (method, uri, _, _, outcome, reason, rule)) in zip(ids, cases) {
                let records = try await env.records(of: id, admin: admin)
                let route = records.filter { $0["stage"]?.stringValue == "route" }
                #expect(route.count == 1, "\(method) \(uri): \(route.count) route records")
                #expect(route.first?["outcome"]?.stringValue == outcome, "\(method) \(uri)")
                #expect(route.first?["reason"]?.stringValue == reason, "\(method) \(uri)")
                #expect(route.first?["rule"]?.stringValue == rule, "\(method) \(uri)")
                #expect(route.first?["name"]?.stringValue == "audit.authz.decision")
                #expect(route.first?["requestId"]?.stringValue == id)
                #expect(route.first?["policyRevision"]?.stringValue?.count == 16)
                #expect(route.first?["resource"]?["method"]?.stringValue == method.rawValue)
            }
            // The tenant admin's read of a foreign account: allowed by the route, denied by the resource check.
            let resource = try await env.records(of: ids[7], count: 2, admin: admin).filter { $0["stage"]?.stringValue == "resource" }
            #expect(resource.count == 1)
            #expect(resource.first?["outcome"]?.stringValue == "deny")
            #expect(resource.first?["reason"]?.stringValue == "NOT_VISIBLE")
            #expect(resource.first?["resource"]?["id"]?.stringValue == foreign.id)
            #expect(resource.first?["resource"]?["tenant"]?.stringValue == "t2")
            // An allowed request that a module checks too: one route and one resource record, both allow.
            let ownID = "own-\(UUID().uuidString.prefix(8))"
            let me = try #require(try await env.get("/api/v1/users/me", token: tenantAdmin).json?["data"]?["id"]?.stringValue)
            #expect(try await env.send(.get, "/api/v1/users/\(me)", token: tenantAdmin, requestID: ownID).status == .ok)
            let own = try await env.records(of: ownID, count: 2, admin: admin)
            #expect(Set(own.compactMap { $0["stage"]?.stringValue }) == ["route", "resource"])
            #expect(own.allSatisfy { $0["outcome"]?.stringValue == "allow" })
            // Exactly one route record per request: the whole log has as many as requests were made by id.
            let all = try await env.get("/logs?filter%5Bname%5D=audit.authz.decision&page%5Bsize%5D=100", token: admin)
            let routeRecordsOfOurs = (all.json?["data"]?.arrayValue ?? []).filter {
                $0["stage"]?.stringValue == "route" && ids.contains($0["requestId"]?.stringValue ?? "")
            }
            #expect(routeRecordsOfOurs.count == cases.count)
        }
    }

    @Test("probes (record: false) are served unrecorded; a refused probe is recorded as always", arguments: Backend.allCases)
    func probesAreUnrecorded(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let admin = try await env.adminToken()
            let run = UUID().uuidString.prefix(8)
            for path in ["/health/live", "/health/ready", "/healthcheck"] {
                // Readiness may say 503 on a loaded machine (a check past its timeout): served either way.
                let status = try await env.send(.get, path, token: nil, requestID: "probe-\(run)\(path)").status
                #expect(status == .ok || (path != "/health/live" && status == .serviceUnavailable), "\(path): \(status)")
            }
            let refused = try await env.send(.get, "/health/live", token: "not-a-token", requestID: "probe-bad-\(run)")
            #expect(refused.status == .unauthorized)
            // Records arrive in the order they were committed: once the refusal's is there, a probe's would be too.
            let refusal = try await env.records(of: "probe-bad-\(run)", admin: admin)
            #expect(refusal.first?["reason"]?.stringValue == "INVALID_TOKEN")
            #expect(refusal.first?["rule"]?.stringValue == "health-live")
            for path in ["/health/live", "/health/ready", "/healthcheck"] {
                let logs = try await env.get("/logs?filter%5BrequestId%5D=probe-\(run)\(path)", token: admin)
                #expect(logs.json?["meta"]?["total"] == 0, "\(path) left a record")
            }
        }
    }

    @Test(
        "when the record cannot be written the request gets 503: a handler that acts does not run, a read does not answer",
        arguments: Backend.allCases)
    func failClosed(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let admin = try await env.adminToken()
            let flow = try await env.post(
                "/flows", json: ["name": "kept secret", "graph": ["nodes": [["id": "a", "componentId": "c", "function": "f"]], "edges": []]],
                token: admin)
            let flowID = try #require(flow.json?["data"]?["id"]?.stringValue)
            let before = try await env.database.first("SELECT COUNT(*) AS n FROM iam_tenants").map { try $0.int("n") }
            try await env.database.execute("ALTER TABLE audit_records RENAME TO audit_records_away")
            let response = try await env.post("/api/v1/tenants", json: ["name": "never-made"], token: admin)
            #expect(response.status == .serviceUnavailable)
            #expect(response.errorReason == "AUDIT_UNAVAILABLE")
            // Reads: one whose route record waits for its resource decision, one that makes none.
            for path in ["/flows/\(flowID)", "/api/v1/users/me"] {
                let read = try await env.get(path, token: admin)
                #expect(read.status == .serviceUnavailable, "\(path)")
                #expect(read.errorReason == "AUDIT_UNAVAILABLE", "\(path)")
                #expect(!String(buffer: read.body).contains("kept secret") && !String(buffer: read.body).contains("\"admin\""), "\(path)")
            }
            let login = try await env.post("/login", json: ["username": "admin", "password": .string(IdentityEnvironment.adminPassword)])
            #expect(login.status == .serviceUnavailable)
            try await env.database.execute("ALTER TABLE audit_records_away RENAME TO audit_records")
            let after = try await env.database.first("SELECT COUNT(*) AS n FROM iam_tenants").map { try $0.int("n") }
            #expect(before == after)
            let tenants = try await env.get("/api/v1/tenants?page%5Bsize%5D=100", token: admin)
            #expect(tenants.status == .ok)
            #expect(tenants.json?["data"]?.arrayValue?.contains { $0["name"]?.stringValue == "never-made" } == false)
        }
    }

    @Test("a read's route record commits with its resource record in one commit; get, post and on handlers start with their record durable")
    func heldRouteRecords() async throws {
        try await withTestGateway { client in
            // A handler registered with `read` starts before its route record is written (it is there once the
            // answer is); `get`, `post` and `on` handlers start with it in the chain.
            for (method, path, atStart) in [(HTTPRequest.Method.get, "read", 0), (.get, "get", 1), (.post, "act", 1), (.get, "hook", 1)] {
                let requestID = "held-\(path)-\(UUID().uuidString.prefix(8))"
                let response = try await client.execute(uri: "/test/effects/\(path)", method: method, headers: [.init("x-request-id")!: requestID])
                #expect(response.status == .ok, "\(path)")
                #expect(response.json?["recordsAtStart"] == .int(Int64(atStart)), "\(path): \(String(buffer: response.body))")
            }
            // The check's commit failed and took the held route record with it: the read cannot answer.
            let swallowed = try await client.execute(uri: "/test/effects/swallow", method: .get)
            #expect(swallowed.status == .serviceUnavailable)
            #expect(!String(buffer: swallowed.body).contains("answered without a record"))
            #expect(try await client.execute(uri: "/test/effects/read", method: .get).status == .ok)
        }
        try await withIdentityGateway(.sqlite) { env in
            let admin = try await env.adminToken()
            let flow = try await env.post(
                "/flows", json: ["name": "one commit", "graph": ["nodes": [["id": "a", "componentId": "c", "function": "f"]], "edges": []]],
                token: admin)
            let flowID = try #require(flow.json?["data"]?["id"]?.stringValue)
            let journal = env.journal
            let before = journal.statistics
            let requestID = "one-commit-\(UUID().uuidString.prefix(8))"
            let read = try await env.client.execute(
                uri: "/flows/\(flowID)", method: .get, headers: [.authorization: "Bearer \(admin)", .init("x-request-id")!: requestID])
            #expect(read.status == .ok)
            let after = journal.statistics
            #expect(after.commits - before.commits == 1)
            #expect(after.records - before.records == 2)
            let stages = try await env.database.query("SELECT body FROM audit_records WHERE request_id = \(requestID) ORDER BY seq").map {
                try JSONCoding.decode(JSONValue.self, from: try $0.string("body"))["stage"]?.stringValue
            }
            #expect(stages == ["route", "resource"])
        }
    }

    /// The id is generated once, when the request's context is made: the answer's header and both records
    /// (route and resource) carry that one id, and the next request gets another.
    @Test("a request without x-request-id gets one generated id, on its answer and on its records")
    func generatedRequestID() async throws {
        try await withIdentityGateway(.sqlite) { env in
            let admin = try await env.adminToken()
            let flow = try await env.post(
                "/flows", json: ["name": "generated id", "graph": ["nodes": [["id": "a", "componentId": "c", "function": "f"]], "edges": []]],
                token: admin)
            let flowID = try #require(flow.json?["data"]?["id"]?.stringValue)
            var seen: [String] = []
            for _ in 0..<2 {
                let read = try await env.client.execute(uri: "/flows/\(flowID)", method: .get, headers: [.authorization: "Bearer \(admin)"])
                #expect(read.status == .ok)
                let requestID = try #require(read.headers[.init("x-request-id")!])
                #expect(requestID.count == 32 && requestID.allSatisfy(\.isHexDigit))
                let stages = try await env.database.query("SELECT body FROM audit_records WHERE request_id = \(requestID) ORDER BY seq").map {
                    try JSONCoding.decode(JSONValue.self, from: try $0.string("body"))["stage"]?.stringValue
                }
                #expect(stages == ["route", "resource"])
                seen.append(requestID)
            }
            #expect(Set(seen).count == 2)
        }
    }

    @Test("a tenant's readers see only their tenant's records and their own; platform admins see all", arguments: Backend.allCases)
    func tenantScoping(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let admin = try await env.adminToken()
            _ = try await env.makeAccount("acme-admin", password: "acme-admin-pass1", roles: ["TENANT_ADMIN"], tenant: "acme")
            _ = try await env.makeAccount("globex-admin", password: "globex-admin-pas1", roles: ["TENANT_ADMIN"], tenant: "globex")
            let acme = try await env.login("acme-admin", "acme-admin-pass1")
            let globex = try await env.login("globex-admin", "globex-admin-pas1")
            let acmeID = "acme-\(UUID().uuidString.prefix(8))"
            let globexID = "globex-\(UUID().uuidString.prefix(8))"
            _ = try await env.send(.get, "/api/v1/users", token: acme, requestID: acmeID)
            _ = try await env.send(.get, "/api/v1/users", token: globex, requestID: globexID)
            _ = try await env.records(of: acmeID, admin: admin)
            _ = try await env.records(of: globexID, admin: admin)

            let seenByAcme = try await env.get("/logs?page%5Bsize%5D=100", token: acme)
            #expect(seenByAcme.status == .ok)
            let acmeRecords = seenByAcme.json?["data"]?.arrayValue ?? []
            #expect(acmeRecords.contains { $0["requestId"]?.stringValue == acmeID })
            #expect(!acmeRecords.contains { $0["requestId"]?.stringValue == globexID })
            #expect(acmeRecords.allSatisfy { $0["tenant"]?.stringValue == "acme" || $0["actor"]?["tenant"]?.stringValue == "acme" })
            // Asking for the other tenant by filter does not widen the scope.
            let probing = try await env.get("/logs?filter%5Btenant%5D=globex", token: acme)
            #expect(probing.json?["data"]?.arrayValue?.isEmpty == true)
            #expect(probing.json?["meta"]?["total"] == 0)
            let byRequest = try await env.get("/logs?filter%5BrequestId%5D=\(globexID)", token: acme)
            #expect(byRequest.json?["data"]?.arrayValue?.isEmpty == true)
            // The platform admin sees both.
            let seenByAdmin = try await env.get("/logs?filter%5Btenant%5D=globex&page%5Bsize%5D=100", token: admin)
            #expect(seenByAdmin.json?["data"]?.arrayValue?.contains { $0["requestId"]?.stringValue == globexID } == true)
        }
    }

    @Test("no stored record holds a password, token or secret used in the test", arguments: Backend.allCases)
    func noSecretsStored(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let admin = try await env.adminToken()
            let password = "secret-password-\(UUID().uuidString.prefix(8))"
            let account = try await env.makeAccount("someone", password: password)
            let token = try await env.login("someone", password)
            let wrong = try await env.post("/login", json: ["username": "someone", "password": "wrong-password-xyz-123"])
            #expect(wrong.status == .unauthorized)
            let created = try await env.post("/api/v1/tokens", json: ["accountId": .string(account.id), "expiresIn": -1], token: admin)
            let persistent = try #require(created.json?["data"]?["token"]?.stringValue)
            let service = try await env.post("/api/v1/service-accounts", json: ["name": "robot"], token: admin)
            let clientSecret = try #require(service.json?["data"]?["clientSecret"]?.stringValue)
            let clientID = try #require(service.json?["data"]?["clientId"]?.stringValue)
            let form = "grant_type=client_credentials&client_id=\(clientID)&client_secret=\(clientSecret)"
            let issued = try await env.client.execute(
                uri: "/oauth2/token", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"], body: ByteBuffer(string: form))
            let serviceToken = try #require(issued.json?["access_token"]?.stringValue)
            _ = try await env.get("/api/v1/users/me", token: token)
            _ = try await env.get("/api/v1/users/me", token: persistent)
            _ = try await env.get("/api/v1/users", token: serviceToken)
            _ = try await env.get("/api/v1/users", token: token + "tampered")
            let logout = try await env.post("/logout", json: [:], token: token)
            #expect(logout.status == .ok)
            // Wait until the consumer has caught up with everything, then read every stored byte.
            let done = try await eventually {
                try await env.database.first("SELECT COUNT(*) AS n FROM bus_messages WHERE queue = 'bus:audit'").map { try $0.int("n") } == 0
            }
            #expect(done)
            let rows = try await env.database.query("SELECT body FROM audit_records")
            let stored = try rows.map { try $0.string("body") }.joined(separator: "\n")
            #expect(rows.count >= 10)
            for secret in [
                password, "wrong-password-xyz-123", IdentityEnvironment.adminPassword, admin, token, persistent, clientSecret, serviceToken,
            ] {
                #expect(!stored.contains(secret), "an audit record contains a secret")
            }
            #expect(stored.contains("audit.iam.login"))
            #expect(stored.contains("\"tokenId\""))
        }
    }

    @Test("a resource check that cannot be recorded stops the module before it acts", arguments: Backend.allCases)
    func resourceCheckFailsClosed(backend: Backend) async throws {
        struct Refusing: ResourceDecisionRecorder {
            func record(_ decision: Decision, about principal: Principal?, resource: ResourceRef) async throws { throw CancellationError() }
            func settle() async throws { throw CancellationError() }
        }
        try await withIdentityGateway(backend) { env in
            let admin = try await env.makeAccount("platform", password: "platform-pass-12", roles: ["ADMIN"])
            let target = try await env.makeAccount("target", password: "target-password-1")
            let caller = try await env.identity.verifier.verify(try await env.login("platform", "platform-pass-12"))
            #expect(caller.accountID == admin.id)
            let administration = try #require(env.modules.lazy.compactMap { $0 as? IAMModule }.first).accountAdministration
            await #expect(throws: CancellationError.self) {
                try await administration.update(target.id, .init(firstname: "Changed"), by: caller, decisions: Refusing(), requestID: nil)
            }
            await #expect(throws: CancellationError.self) {
                try await administration.delete(target.id, by: caller, decisions: Refusing(), requestID: nil)
            }
            let stored = try #require(try await env.identity.accounts.find(id: target.id))
            #expect(stored.firstname == nil)
        }
    }
}
