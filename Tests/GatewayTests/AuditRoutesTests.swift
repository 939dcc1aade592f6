import Foundation
import GatewayKit
import GatewayTestSupport
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import IAM
import NIOCore
import PortcullisCore
import TestSupport
import Testing

@Suite("The /logs endpoints")
struct AuditRoutesTests {
    @Test("POST /logs takes serviceName and actor from the token, prefixes the name, and guards the tenant", arguments: Backend.allCases)
    func push(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let admin = try await env.adminToken()
            let robotAccount = try await env.makeAccount("robot", password: "robot-password-1", roles: ["SERVICE_ACCOUNT"], tenant: "t1")
            _ = try await env.makeAccount("reader", password: "reader-password-1", roles: ["USER"], tenant: "t1")
            let robot = try await env.login("robot", "robot-password-1")
            let reader = try await env.login("reader", "reader-password-1")

            let pushed = try await env.post(
                "/logs", json: ["name": "export.finished", "payload": ["rows": 12], "serviceName": "forged", "tenant": "t1"], token: robot)
            #expect(pushed.status == .created)
            let record = try #require(pushed.json?["data"])
            #expect(record["name"] == "audit.export.finished")
            #expect(record["serviceName"]?.stringValue == robotAccount.id, "the account's id, never a name a tenant chooses")
            #expect(record["origin"] == "push")
            #expect(record["actor"]?["type"] == "user")
            #expect(record["tenant"] == "t1")
            #expect(record["payload"] == ["rows": 12])
            #expect(record["seq"] != nil && record["seq"] != .int(0))
            #expect(record["hash"]?.stringValue?.count == 64)

            // OIH services push their event shape unchanged; the token still names the service.
            let oih = try await env.post(
                "/logs",
                json: [
                    "headers": ["name": "flowrepo.flow.created", "serviceName": "forged", "createdAt": "1564408888"], "payload": ["flowId": "f1"],
                ],
                token: robot)
            #expect(oih.status == .created)
            #expect(oih.json?["data"]?["name"] == "audit.flowrepo.flow.created")
            #expect(oih.json?["data"]?["serviceName"]?.stringValue == robotAccount.id)

            let foreign = try await env.post("/logs", json: ["name": "x", "tenant": "t2"], token: robot)
            #expect(foreign.status == .forbidden)
            #expect(foreign.errorReason == "FOREIGN_TENANT")
            let byAdmin = try await env.post("/logs", json: ["name": "audit.manual.note", "tenant": "t2"], token: admin)
            #expect(byAdmin.status == .created)
            #expect(byAdmin.json?["data"]?["tenant"] == "t2")

            // Bad input: each a clear 400 (or 403 without logs.push), nothing appended.
            #expect(try await env.post("/logs", json: ["name": "x"], token: reader).status == .forbidden)
            for body: JSONValue in [["name": "bad name!"], ["name": ""], ["name": "a..b"], ["name": 5], ["payload": [:]]] {
                let response = try await env.post("/logs", json: body, token: robot)
                #expect(response.status == .badRequest, "\(body)")
            }
            let malformed = try await env.client.execute(
                uri: "/logs", method: .post, headers: [.contentType: "application/json", .authorization: "Bearer \(robot)"],
                body: ByteBuffer(string: "{\"name\": \"x\""))
            #expect(malformed.status == .badRequest)
            #expect(malformed.errorReason == "MALFORMED_JSON")

            // The reader of t1 sees the pushed record; verification covers it.
            let seen = try await env.get("/logs?filter[name]=audit.export.finished", token: reader)
            #expect(seen.json?["meta"]?["total"] == 1)
            let verify = try await env.get("/logs/verify", token: admin)
            #expect(verify.json?["data"]?["ok"] == true)
            #expect(try await env.get("/logs/verify", token: reader).status == .forbidden)
            // Without a token, or with a forged one, none of the three answers anything but 401.
            #expect(try await env.post("/logs", json: ["name": "x"]).status == .unauthorized)
            #expect(try await env.post("/logs", json: ["name": "x"], token: robot + "x").status == .unauthorized)
            #expect(try await env.get("/logs/verify").status == .unauthorized)
        }
    }

    @Test("POST /logs cannot impersonate the gateway: reserved names are 400, big payloads 413, nothing appended", arguments: Backend.allCases)
    func pushCannotImpersonate(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let admin = try await env.adminToken()
            _ = try await env.makeAccount("gateway", password: "gateway-pass-123", roles: ["SERVICE_ACCOUNT"], tenant: "t1")
            let robot = try await env.login("gateway", "gateway-pass-123")
            for name in [
                "audit.authz.decision", "authz.decision", "audit.iam.login", "iam.token.created", "audit.policy.reloaded", "audit.log.pruned",
                "audit.flow.started", "AUDIT.AUTHZ.decision",
            ] {
                let forged: JSONValue = [
                    "name": .string(name), "payload": ["outcome": "allow", "stage": "route", "reason": "ALLOWED"], "serviceName": "gateway",
                ]
                let response = try await env.post("/logs", json: forged, token: robot)
                #expect(response.status == .badRequest, "\(name)")
                #expect(response.errorReason == "RESERVED_NAME")
            }
            let big = try await env.post(
                "/logs", json: ["name": "big", "payload": ["blob": .string(String(repeating: "x", count: 70_000))]], token: robot)
            #expect(big.status == .contentTooLarge)
            let huge = try await env.client.execute(
                uri: "/logs", method: .post, headers: [.contentType: "application/json", .authorization: "Bearer \(robot)"],
                body: ByteBuffer(string: "{\"name\":\"x\",\"payload\":\"" + String(repeating: "y", count: 300_000) + "\"}"))
            #expect(huge.status == .contentTooLarge)
            // A named account called "gateway" still pushes as its id, marked as pushed.
            let fine = try await env.post("/logs", json: ["name": "note"], token: robot)
            #expect(fine.json?["data"]?["serviceName"] != "gateway")
            #expect(fine.json?["data"]?["origin"] == "push")
            let pushed = try await env.get("/logs?filter%5Bname%5D=audit.authz.decision&filter%5Bservice%5D=gateway&page%5Bsize%5D=100", token: admin)
            #expect(pushed.json?["data"]?.arrayValue?.contains { $0["origin"] == "push" } == false, "no pushed record passes for a decision")
            let all = try await env.get("/logs?page%5Bsize%5D=100", token: admin)
            #expect(all.json?["data"]?.arrayValue?.filter { $0["origin"] == "push" }.count == 1)
            // filter[origin] tells pushed records from Portcullis's own.
            let onlyPushed = try await env.get("/logs?filter%5Borigin%5D=push&page%5Bsize%5D=100", token: admin)
            #expect(onlyPushed.json?["data"]?.arrayValue?.map { $0["name"]?.stringValue } == ["audit.note"])
            let own = try await env.get("/logs?filter%5Borigin%5D=gateway&page%5Bsize%5D=100", token: admin)
            #expect(own.json?["data"]?.arrayValue?.contains { $0["origin"] == "push" } == false)
            #expect(try await env.get("/logs?filter%5Borigin%5D=elsewhere", token: admin).status == .badRequest)
            #expect(try await env.get("/logs/verify", token: admin).json?["data"]?["ok"] == true)
        }
    }

    @Test("GET /logs validates its filters and paging")
    func filters() async throws {
        try await withIdentityGateway(.sqlite) { env in
            let admin = try await env.adminToken()
            for query in [
                "filter[outcome]=maybe", "from=yesterday", "to=2026-13-01T00:00:00Z", "page[size]=0", "page[size]=101", "page[number]=-1",
                "filter[actor]=" + String(repeating: "a", count: 201),
            ] {
                let response = try await env.get("/logs?\(query)", token: admin)
                #expect(response.status == .badRequest, "\(query)")
            }
            let fine = try await env.get("/logs?filter%5Boutcome%5D=deny&from=2026-01-01T00:00:00Z&to=2099-01-01T00:00:00%2B00:00", token: admin)
            #expect(fine.status == .ok)
            #expect(try await env.get("/logs").status == .unauthorized)
        }
    }
}
