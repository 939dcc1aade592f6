import Foundation
import GatewayTestSupport
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import PortcullisCore
import Storage
import TestSupport
import Testing

@Suite("Policy impact analysis")
struct PolicyDiffTests {
    static func shipped(_ name: String) throws -> String {
        try String(contentsOfFile: "\(PortcullisProcess.policiesDirectory)/\(name)", encoding: .utf8)
    }

    /// The shipped files, with `routes.yaml` changed by `edit`.
    static func candidate(_ edit: (String) -> String = { $0 }) throws -> JSONValue {
        [
            "files": [
                "permissions.yaml": .string(try Self.shipped("permissions.yaml")), "roles.yaml": .string(try Self.shipped("roles.yaml")),
                "routes.yaml": .string(edit(try Self.shipped("routes.yaml"))),
            ],
            "since": "1h",
        ]
    }

    static func diff(_ env: IdentityEnvironment, _ body: JSONValue, token: String?) async throws -> TestResponse {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let token { headers[.authorization] = "Bearer \(token)" }
        return try await env.client.execute(
            uri: "/api/v1/policy/diff", method: .get, headers: headers, body: ByteBuffer(bytes: try JSONEncoder().encode(body)))
    }

    @Test(
        "an identical candidate changes nothing; a removed permission and an added rule are reported by rule, with request ids",
        arguments: Backend.allCases)
    func report(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let admin = try await env.adminToken()
            _ = try await env.makeAccount("user", password: "user-password-1", tenant: "t1")
            let user = try await env.login("user", "user-password-1")
            #expect(try await env.get("/api/v1/users/me", token: user, requestID: "me-1").status == .ok)
            #expect(try await env.get("/api/v1/users/me", token: user, requestID: "me-2").status == .ok)
            #expect(try await env.get("/api/v1/tenants", token: user, requestID: "tenants-user").status == .forbidden)
            #expect(try await env.get("/api/v1/tenants", token: admin, requestID: "tenants-admin").status == .ok)
            #expect(try await env.get("/nothing/here", token: nil, requestID: "nothing").status == .notFound)
            _ = try await env.makeAccount("tenantadmin", password: "tenant-admin-password-1", roles: ["TENANT_ADMIN"], tenant: "t1")
            let tenantAdmin = try await env.login("tenantadmin", "tenant-admin-password-1")
            #expect(try await env.get("/api/v1/tenants", token: tenantAdmin, requestID: "tenants-tenant-admin").status == .ok)
            var basic: HTTPFields = [HTTPField.Name("x-request-id")!: "me-basic", .authorization: "Basic dXNlcjpwdw=="]
            #expect(try await env.client.execute(uri: "/api/v1/users/me", method: .get, headers: basic).status == .unauthorized)
            basic[.authorization] = nil

            let same = try await Self.diff(env, try Self.candidate(), token: admin)
            #expect(same.status == .ok, "\(same.bodyText)")
            let unchanged = try #require(same.json?["data"])
            #expect(unchanged["groups"] == [])
            #expect((unchanged["compared"].flatMap { if case .int(let n) = $0 { n } else { nil } } ?? 0) >= 5)

            // The candidate asks a permission of /users/me that a plain user does not hold.
            let removed = try await Self.diff(
                env,
                try Self.candidate {
                    $0.replacingOccurrences(
                        of: "{id: own-account, methods: [GET, PATCH], path: /api/v1/users/me, auth: authenticated}",
                        with: "{id: own-account, methods: [GET, PATCH], path: /api/v1/users/me, require: {allOf: [iam.account.read]}}")
                }, token: admin)
            let breaking = try #require(removed.json?["data"]?["groups"]?.arrayValue)
            let own = try #require(breaking.first)
            #expect(own["change"] == "allow-to-deny")
            #expect(own["fromRule"] == "own-account" && own["toRule"] == "own-account")
            #expect(own["reason"] == "MISSING_PERMISSION")
            #expect(own["count"] == 2, "the two /users/me requests of the user; the admin holds every permission")
            #expect(Set(own["requestIds"]?.arrayValue?.compactMap(\.stringValue) ?? []) == ["me-1", "me-2"])
            #expect(breaking.count == 1, "\(breaking)")

            // A permission removed from a rule: tenant admins read tenants through tenant.profile.read.
            let narrowed = try await Self.diff(
                env,
                try Self.candidate {
                    $0.replacingOccurrences(
                        of: "path: /api/v1/tenants, require: {anyOf: [iam.tenant.read, tenant.profile.read]}",
                        with: "path: /api/v1/tenants, require: {anyOf: [iam.tenant.read]}")
                }, token: admin)
            let narrowedGroups = try #require(narrowed.json?["data"]?["groups"]?.arrayValue)
            #expect(narrowedGroups.count == 1, "\(narrowedGroups)")
            #expect(narrowedGroups.first?["change"] == "allow-to-deny")
            #expect(narrowedGroups.first?["fromRule"] == "tenants-read")
            #expect(narrowedGroups.first?["requestIds"] == ["tenants-tenant-admin"], "the platform admin still may; the plain user never could")

            // Credentials of another scheme are replayed as anonymous: a rule made public would let them in.
            let opened = try await Self.diff(
                env,
                try Self.candidate {
                    $0.replacingOccurrences(
                        of: "{id: own-account, methods: [GET, PATCH], path: /api/v1/users/me, auth: authenticated}",
                        with: "{id: own-account, methods: [GET, PATCH], path: /api/v1/users/me, auth: public}")
                }, token: admin)
            let openedGroups = try #require(opened.json?["data"]?["groups"]?.arrayValue)
            #expect(openedGroups.count == 1, "\(openedGroups)")
            #expect(openedGroups.first?["change"] == "deny-to-allow")
            #expect(openedGroups.first?["requestIds"] == ["me-basic"])

            // A new public rule for a path no rule matched: a recorded 404 would now be allowed.
            let added = try await Self.diff(
                env,
                try Self.candidate {
                    $0.replacingOccurrences(
                        of: "rules:\n", with: "rules:\n  - {id: nothing-here, methods: [GET], path: /nothing/here, auth: public}\n")
                }, token: admin)
            let groups = try #require(added.json?["data"]?["groups"]?.arrayValue)
            #expect(groups.count == 1, "\(groups)")
            #expect(groups.first?["change"] == "deny-to-allow")
            #expect(groups.first?["fromRule"] == nil || groups.first?["fromRule"] == .null)
            #expect(groups.first?["toRule"] == "nothing-here")
            #expect(groups.first?["requestIds"] == ["nothing"])

            // Each record names its permission set by digest; a stored set edited afterwards no longer matches
            // it and is not believed: those records are not replayed (counted, not guessed).
            let digests = try await env.database.query("SELECT digest FROM audit_permission_sets")
            #expect(!digests.isEmpty)
            try await env.database.execute(
                "UPDATE audit_permission_sets SET permissions = REPLACE(permissions, '\"granted\":[', '\"granted\":[\"all\",')")
            let tampered = try #require(try await Self.diff(env, try Self.candidate(), token: admin).json?["data"])
            #expect(tampered["groups"] == [])
            #expect((tampered["withoutPermissions"].flatMap { if case .int(let n) = $0 { n } else { nil } } ?? 0) >= 5)
        }
    }

    @Test("only platform admins run it; bad candidates and periods are 400", arguments: Backend.allCases)
    func refusals(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let admin = try await env.adminToken()
            _ = try await env.makeAccount("tenantadmin", password: "tenant-admin-password-1", roles: ["TENANT_ADMIN"], tenant: "t1")
            let tenantAdmin = try await env.login("tenantadmin", "tenant-admin-password-1")
            #expect(try await Self.diff(env, try Self.candidate(), token: tenantAdmin).status == .forbidden)
            #expect(try await Self.diff(env, try Self.candidate(), token: nil).status == .unauthorized)
            let broken = try await Self.diff(
                env, try Self.candidate { $0 + "\n  - {id: bad, methods: [GET], path: /x, require: {allOf: [no.such.permission]}}\n" }, token: admin)
            #expect(broken.status == .badRequest)
            #expect(broken.errorReason == "INVALID_POLICY")
            #expect(!broken.bodyText.contains("portcullis-diff-"), "the temporary directory is not shown")
            // Anchors and aliases could expand a small file into millions of entries: refused before decoding.
            let expanding = try await Self.diff(
                env, try Self.candidate { "expand: &many [a, b, c]\nagain: *many\n" + $0 }, token: admin)
            #expect(expanding.errorReason == "INVALID_POLICY")
            #expect(expanding.bodyText.contains("anchor or alias"), "\(expanding.bodyText)")
            let missing = try await Self.diff(env, ["files": ["routes.yaml": "rules: []"]], token: admin)
            #expect(missing.errorReason == "INVALID_FILES")
            let hostile = try await Self.diff(
                env, ["files": ["permissions.yaml": "", "roles.yaml": "", "../routes.yaml": ""]], token: admin)
            #expect(hostile.errorReason == "INVALID_FILES")
            var longAgo = try Self.candidate()
            if case .object(var object) = longAgo {
                object["since"] = "400d"
                longAgo = .object(object)
            }
            #expect(try await Self.diff(env, longAgo, token: admin).errorReason == "INVALID_PERIOD")
            // Malformed JSON and wrong types are 400s naming the problem.
            let malformed = try await env.client.execute(
                uri: "/api/v1/policy/diff", method: .get, headers: [.authorization: "Bearer \(admin)", .contentType: "application/json"],
                body: ByteBuffer(string: #"{"files": "#))
            #expect(malformed.status == .badRequest)
            #expect(malformed.errorReason == "MALFORMED_JSON")
            let wrongType = try await Self.diff(env, ["files": ["routes.yaml": 5], "since": 3], token: admin)
            #expect(wrongType.status == .badRequest)
            #expect(wrongType.errorReason == "INVALID_TYPE")
            // No body at all: refused as not JSON, never a 500.
            let empty = try await env.client.execute(uri: "/api/v1/policy/diff", method: .get, headers: [.authorization: "Bearer \(admin)"])
            #expect([.badRequest, .unsupportedMediaType].contains(empty.status), "\(empty.status)")
        }
    }
}
