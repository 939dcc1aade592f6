import Foundation
import GatewayTestSupport
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import PortcullisCore
import TestSupport
import Testing

@Suite("Refusals explain themselves")
struct RefusalExplanationTests {

    /// The one error entry of a refusal.
    static func entry(_ response: TestResponse) throws -> [String: JSONValue] {
        let entries = try #require(response.json?["errors"]?.arrayValue)
        #expect(entries.count == 1)
        return try #require(entries.first?.objectValue)
    }

    /// The route-stage record of `requestID`, from `/logs`.
    static func record(_ env: IdentityEnvironment, _ requestID: String, admin: String) async throws -> [String: JSONValue]? {
        let logs = try await env.get("/logs?filter%5BrequestId%5D=\(requestID)&page%5Bsize%5D=100", token: admin)
        return logs.json?["data"]?.arrayValue?.first { $0["stage"] == "route" }?.objectValue
    }

    @Test("a 403 names the rule, what it requires, what the token lacks, and the record to look up", arguments: Backend.allCases)
    func forbidden(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let admin = try await env.adminToken()
            _ = try await env.makeAccount("plain", password: "plain-password-1", roles: [], tenant: nil)
            let plain = try await env.login("plain", "plain-password-1")
            let response = try await env.get("/api/v1/tenants", token: plain, requestID: "explain-403-\(backend)")
            #expect(response.status == .forbidden)
            let entry = try Self.entry(response)
            // OIH's fields as before, and the explanation beside them.
            #expect(entry["code"] == 403)
            #expect(entry["reason"] == "MISSING_PERMISSION")
            #expect(entry["message"] == "This request needs one of iam.tenant.read, tenant.profile.read; your token has neither.")
            #expect(entry["rule"] == "tenants-read")
            #expect(entry["required"] == ["anyOf": ["iam.tenant.read", "tenant.profile.read"]])
            #expect(entry["missing"] == ["iam.tenant.read", "tenant.profile.read"])
            #expect(entry["requestId"] == .string("explain-403-\(backend)"))
            let record = try #require(try await Self.record(env, "explain-403-\(backend)", admin: admin))
            #expect(entry["decisionId"] == record["id"], "the decision id is the id of the recorded deny")
            #expect(record["outcome"] == "deny")
            #expect(record["rule"] == "tenants-read")
        }
    }

    @Test("a 401 names the rule and what a token would need; a bad token and an unknown route name their record", arguments: Backend.allCases)
    func unauthenticated(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let admin = try await env.adminToken()
            let anonymous = try await env.get("/api/v1/tenants", token: nil, requestID: "explain-401-\(backend)")
            #expect(anonymous.status == .unauthorized)
            let entry = try Self.entry(anonymous)
            #expect(entry["reason"] == "UNAUTHENTICATED")
            #expect(entry["message"] == "This request needs a token with one of iam.tenant.read, tenant.profile.read; none was sent.")
            #expect(entry["rule"] == "tenants-read")
            #expect(entry["required"] == ["anyOf": ["iam.tenant.read", "tenant.profile.read"]])
            #expect(entry["missing"] == nil, "nothing is said about any account")
            let record = try #require(try await Self.record(env, "explain-401-\(backend)", admin: admin))
            #expect(entry["decisionId"] == record["id"])

            let anyToken = try Self.entry(try await env.get("/api/v1/users/me", token: nil, requestID: "explain-401b-\(backend)"))
            #expect(anyToken["message"] == "This request needs a token; none was sent.")
            #expect(anyToken["rule"] == "own-account")
            #expect(anyToken["required"] == nil)

            let forged = try Self.entry(
                try await env.get("/api/v1/tenants", token: "not.a.token", requestID: "explain-forged-\(backend)"))
            #expect(forged["reason"] == "INVALID_TOKEN")
            #expect(forged["rule"] == "tenants-read")
            #expect(forged["decisionId"] == (try await Self.record(env, "explain-forged-\(backend)", admin: admin))?["id"])

            let nowhere = try Self.entry(try await env.get("/no/such/route", token: nil, requestID: "explain-404-\(backend)"))
            #expect(nowhere["reason"] == "NO_ROUTE")
            #expect(nowhere["rule"] == nil)
            #expect(nowhere["requestId"] == .string("explain-404-\(backend)"))
            #expect(nowhere["decisionId"] == (try await Self.record(env, "explain-404-\(backend)", admin: admin))?["id"])
        }
    }

    @Test("a resource the caller may not see stays a plain 404, with no rule or record named", arguments: Backend.allCases)
    func invisible(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            _ = try await env.makeAccount("alice", password: "alice-password-1", tenant: "t1")
            _ = try await env.makeAccount("bob", password: "bob-password-1", tenant: "t2")
            let alice = try await env.login("alice", "alice-password-1")
            let bob = try await env.login("bob", "bob-password-1")
            let flow: JSONValue = ["name": "x", "graph": ["nodes": [["id": "a", "componentId": "c", "function": "f"]], "edges": []]]
            let created = try await env.post("/flows", json: flow, token: alice)
            let id = try #require(created.json?["data"]?["id"]?.stringValue)
            let response = try await env.get("/flows/\(id)", token: bob, requestID: "explain-invisible-\(backend)")
            #expect(response.status == .notFound)
            let entry = try Self.entry(response)
            #expect(Set(entry.keys) == ["code", "message", "reason"], "\(entry)")
        }
    }

    @Test("the sentences: one permission, any of two or more, all of several")
    func sentences() {
        #expect(
            PermissionRequirement.allOf(["metrics.read"]).refusal(missing: ["metrics.read"])
                == "This request needs the permission metrics.read; your token does not have it.")
        #expect(
            PermissionRequirement.anyOf(["a.x", "b.y"]).refusal(missing: ["a.x", "b.y"])
                == "This request needs one of a.x, b.y; your token has neither.")
        #expect(
            PermissionRequirement.anyOf(["a", "b", "c"]).refusal(missing: ["a", "b", "c"])
                == "This request needs one of a, b, c; your token has none of them.")
        #expect(PermissionRequirement.allOf(["a", "b", "c"]).refusal(missing: ["b"]) == "This request needs all of a, b, c; your token lacks b.")
        #expect(PermissionRequirement.tokenNeeded(.allOf(["a", "b"])) == "This request needs a token with all of a, b; none was sent.")
        #expect(PermissionRequirement.tokenNeeded(.anyOf(["a"])) == "This request needs a token with the permission a; none was sent.")
        #expect(PermissionRequirement.tokenNeeded(nil) == "This request needs a token; none was sent.")
    }
}
