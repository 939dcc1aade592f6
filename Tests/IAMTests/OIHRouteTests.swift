import Foundation
import GatewayKit
import GatewayTestSupport
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Policy
import PortcullisCore
import TestSupport
import Testing

@testable import IAM

/// OIH's IAM routes that clients call, with the same rules as their PATCH siblings.
@Suite("OIH's full updates and tenant membership")
struct OIHRouteTests {
    static func put(_ env: IdentityEnvironment, _ uri: String, _ body: JSONValue, token: String) async throws -> TestResponse {
        try await env.client.execute(
            uri: uri, method: .put, headers: [.contentType: "application/json", .authorization: "Bearer \(token)"],
            body: ByteBuffer(bytes: try JSONEncoder().encode(body)))
    }

    @Test("PUT /api/v1/users/{id} replaces the profile, roles and permissions; PUT /api/v1/tenants/{id} needs a name", arguments: Backend.allCases)
    func fullUpdates(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let (_, tenants, admins) = try await AdministrationTests.twoTenants(env)
            let user = try await AdministrationTests.create(
                env, "/api/v1/users",
                ["username": "pat", "password": "pat-password-123", "firstname": "Pat", "permissions": ["flows.read"], "roles": ["builtin-user"]],
                token: admins[0])
            let id = try #require(user["id"]?.stringValue)
            let replaced = try await Self.put(env, "/api/v1/users/\(id)", ["username": "pat", "lastname": "Smith"], token: admins[0])
            #expect(replaced.status == .ok)
            #expect(replaced.json?["data"]?["firstname"] == nil, "absent fields are cleared by a full update")
            #expect(replaced.json?["data"]?["lastname"] == "Smith")
            #expect(replaced.json?["data"]?["roles"] == [])
            #expect(replaced.json?["data"]?["permissions"] == [])
            _ = try await env.login("pat", "pat-password-123")
            let noName = try await Self.put(env, "/api/v1/users/\(id)", ["firstname": "X"], token: admins[0])
            #expect(noName.status == .badRequest)
            #expect(try await Self.put(env, "/api/v1/users/\(id)", ["username": "pat"], token: admins[1]).status == .notFound)
            let malformed = try await env.client.execute(
                uri: "/api/v1/users/\(id)", method: .put, headers: [.contentType: "application/json", .authorization: "Bearer \(admins[0])"],
                body: ByteBuffer(string: "{\"username\": 5"))
            #expect(malformed.status == .badRequest)
            #expect(try await Self.put(env, "/api/v1/users/..%2Fx", ["username": "pat"], token: admins[0]).status == .badRequest)
            let many = JSONValue.array((0..<101).map { .string("role-\($0)") })
            let tooMany = try await Self.put(env, "/api/v1/users/\(id)", ["username": "pat", "roles": many], token: admins[0])
            #expect(tooMany.status == .badRequest)
            #expect(tooMany.errorReason == "TOO_MANY_ITEMS")

            let tenant = try await Self.put(env, "/api/v1/tenants/\(tenants[0])", ["name": "acme-renamed"], token: admins[0])
            #expect(tenant.status == .ok)
            #expect(tenant.json?["data"]?["name"] == "acme-renamed")
            #expect(try await Self.put(env, "/api/v1/tenants/\(tenants[0])", ["status": "ACTIVE"], token: admins[0]).status == .badRequest)
            #expect(try await Self.put(env, "/api/v1/tenants/\(tenants[1])", ["name": "mine-now"], token: admins[0]).status == .notFound)
            #expect(
                try await Self.put(env, "/api/v1/tenants/\(tenants[0])", ["name": "x"], token: try await env.login("pat", "pat-password-123")).status
                    == .forbidden)
        }
    }

    @Test("tenant membership: list, add an existing account, remove one; only platform admins move accounts", arguments: Backend.allCases)
    func membership(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let (admin, tenants, admins) = try await AdministrationTests.twoTenants(env)
            let listed = try await env.get("/api/v1/tenants/\(tenants[0])/users", token: admins[0])
            #expect(listed.status == .ok)
            #expect(listed.json?["data"]?.arrayValue?.compactMap { $0["username"]?.stringValue } == ["acme-admin"])
            #expect(try await env.get("/api/v1/tenants/\(tenants[1])/users", token: admins[0]).status == .notFound)
            #expect(try await env.get("/api/v1/tenants/nosuchtenant/users", token: admin).status == .notFound)

            let loner = try await env.makeAccount("loner", password: "loner-password-1", roles: [])
            let byTenantAdmin = try await env.post("/api/v1/tenants/\(tenants[0])/users", json: ["id": .string(loner.id)], token: admins[0])
            #expect(byTenantAdmin.status == .forbidden, "a tenant admin cannot pull accounts into its reach")
            let added = try await env.post(
                "/api/v1/tenants/\(tenants[0])/users", json: ["user": .string(loner.id), "roles": ["builtin-user"]], token: admin)
            #expect(added.status == .ok)
            #expect(added.json?["data"]?["tenant"]?.stringValue == tenants[0])
            #expect(added.json?["data"]?["roles"] == ["builtin-user"])
            let byName = try await env.post("/api/v1/tenants/\(tenants[1])/users", json: ["username": "loner"], token: admin)
            #expect(byName.status == .ok)
            #expect(byName.json?["data"]?["tenant"]?.stringValue == tenants[1])
            #expect(try await env.post("/api/v1/tenants/\(tenants[0])/users", json: [:], token: admin).status == .badRequest)
            #expect(try await env.post("/api/v1/tenants/nosuchtenant/users", json: ["id": .string(loner.id)], token: admin).status == .notFound)
            #expect(try await env.post("/api/v1/tenants/\(tenants[0])/users", json: ["id": "nobody"], token: admin).status == .notFound)

            let wrongTenant = try await AdministrationTests.delete(env, "/api/v1/tenants/\(tenants[0])/user/\(loner.id)", token: admin)
            #expect(wrongTenant.status == .notFound, "loner is in globex now")
            #expect(
                try await AdministrationTests.delete(env, "/api/v1/tenants/\(tenants[1])/user/\(loner.id)", token: admins[1]).status == .forbidden)
            let removed = try await AdministrationTests.delete(env, "/api/v1/tenants/\(tenants[1])/user/\(loner.id)", token: admin)
            #expect(removed.status == .ok)
            #expect(removed.json?["data"]?["tenant"] == nil)
        }
    }

    @Test("a service account of a disabled tenant can neither get tokens nor act in an exchange", arguments: Backend.allCases)
    func disabledTenantClients(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let admin = try await env.adminToken()
            let tenant = try await AdministrationTests.create(env, "/api/v1/tenants", ["name": "sleepy"], token: admin)
            let tenantID = try #require(tenant["id"]?.stringValue)
            let created = try await AdministrationTests.create(
                env, "/api/v1/service-accounts", ["name": "sleeper", "tenant": .string(tenantID), "permissions": ["iam.token.exchange"]],
                token: admin)
            let headers = OAuthTests.basic(try #require(created["clientId"]?.stringValue), try #require(created["clientSecret"]?.stringValue))
            let grant = [("grant_type", "client_credentials")]
            #expect(try await OAuthTests.form(env, "/oauth2/token", grant, headers: headers).status == .ok)
            #expect(try await AdministrationTests.patch(env, "/api/v1/tenants/\(tenantID)", ["status": "DISABLED"], token: admin).status == .ok)
            let refused = try await OAuthTests.form(env, "/oauth2/token", grant, headers: headers)
            #expect(refused.status == .unauthorized)
            #expect(refused.json?["error"] == "invalid_client")
            let exchange = try await OAuthTests.form(
                env, "/oauth2/token",
                [("grant_type", OAuthService.tokenExchange), ("subject_token", admin), ("subject_token_type", OAuthService.accessTokenType)],
                headers: headers)
            #expect(exchange.status == .unauthorized)
        }
    }

    @Test("after a policy reload IAM's grant checks use the new catalog and record the new revision", arguments: Backend.allCases)
    func reloadReachesIAM(backend: Backend) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("policies-\(UUID().uuidString)").path
        try FileManager.default.copyItem(atPath: PortcullisProcess.policiesDirectory, toPath: directory)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await withIdentityGateway(backend, policiesDirectory: directory) { env in
            let (admin, _, admins) = try await AdministrationTests.twoTenants(env)
            let before = env.policies.current.revision
            #expect(
                try await env.post(
                    "/api/v1/users", json: ["username": "a1", "password": "a1-password-123", "permissions": ["flows.bulk"]], token: admins[0]
                ).status == .created)

            // flows.bulk stops being tenant-grantable.
            let file = "\(directory)/permissions.yaml"
            let text = try String(contentsOfFile: file, encoding: .utf8)
            let edited = text.replacingOccurrences(
                of: "  - name: flows.bulk\n    description: Create several flows in one request.\n    tenantGrantable: true",
                with: "  - name: flows.bulk\n    description: Create several flows in one request.")
            #expect(edited != text)
            try edited.write(toFile: file, atomically: true, encoding: .utf8)
            let reloaded = try env.policies.reload()
            try await env.identity.policiesReloaded()
            #expect(reloaded.revision != before)

            let id = "reload-\(UUID().uuidString.prefix(8))"
            let refused = try await env.send(
                .post, "/api/v1/users", token: admins[0], requestID: id,
                json: ["username": "a2", "password": "a2-password-123", "permissions": ["flows.bulk"]])
            #expect(refused.status == .forbidden)
            let denies = try await env.resourceDecisions(of: id, outcome: "deny", reason: "NOT_HELD", admin: admin)
            #expect(denies.first?["policyRevision"]?.stringValue == reloaded.revision)
        }
    }

    @Test("a purge during verification keeps the verified principal out of the cache")
    func cacheRace() {
        let cache = PrincipalCache()
        let principal = Principal(
            accountID: "a", username: "a", tenant: nil, type: .user, roles: [], granted: [], scope: nil, tokenID: "t", tokenType: "access_token",
            expiresAt: nil, actor: nil)
        let generation = cache.generation
        cache.purge("token:t")  // the revocation commits while the token is being verified
        cache.put(principal, tokenHash: "h", now: Date(), verifiedSince: generation)
        #expect(cache.get("h", now: Date()) == nil)
        cache.put(principal, tokenHash: "h", now: Date(), verifiedSince: cache.generation)
        #expect(cache.get("h", now: Date()) == principal)
    }
}
