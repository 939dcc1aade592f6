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

@Suite("Accounts, tenants and roles")
struct AdministrationTests {
    static func create(_ env: IdentityEnvironment, _ uri: String, _ body: JSONValue, token: String) async throws -> JSONValue {
        let response = try await env.post(uri, json: body, token: token)
        guard response.status == .created, let data = response.json?["data"] else {
            throw TestEnvironmentError(description: "create \(uri) failed: \(response.status) \(String(buffer: response.body))")
        }
        return data
    }

    static func patch(_ env: IdentityEnvironment, _ uri: String, _ body: JSONValue, token: String) async throws -> TestResponse {
        try await env.client.execute(
            uri: uri, method: .patch, headers: [.contentType: "application/json", .authorization: "Bearer \(token)"],
            body: ByteBuffer(bytes: try JSONEncoder().encode(body))
        )
    }

    static func delete(_ env: IdentityEnvironment, _ uri: String, token: String) async throws -> TestResponse {
        try await env.client.execute(uri: uri, method: .delete, headers: [.authorization: "Bearer \(token)"])
    }

    /// Two tenants, each with a tenant admin; returns (admin token, tenant ids, tenant-admin tokens).
    static func twoTenants(_ env: IdentityEnvironment) async throws -> (admin: String, tenants: [String], admins: [String]) {
        let admin = try await env.adminToken()
        var tenants: [String] = []
        var admins: [String] = []
        for name in ["acme", "globex"] {
            let tenant = try await create(env, "/api/v1/tenants", ["name": .string(name)], token: admin)
            let id = try #require(tenant["id"]?.stringValue)
            tenants.append(id)
            _ = try await create(
                env, "/api/v1/users",
                ["username": .string("\(name)-admin"), "password": "tenant-admin-pass-1", "tenant": .string(id), "roles": ["builtin-tenant_admin"]],
                token: admin
            )
            admins.append(try await env.login("\(name)-admin", "tenant-admin-pass-1"))
        }
        return (admin, tenants, admins)
    }

    @Test("a tenant admin sees and changes only its own tenant's accounts; others are 404", arguments: Backend.allCases)
    func tenantIsolation(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let (_, tenants, admins) = try await Self.twoTenants(env)
            let mine = try await Self.create(env, "/api/v1/users", ["username": "acme-user", "password": "acme-user-pass-1"], token: admins[0])
            #expect(mine["tenant"]?.stringValue == tenants[0], "created in the tenant admin's own tenant")
            let theirs = try await Self.create(env, "/api/v1/users", ["username": "globex-user", "password": "globex-user-pass-1"], token: admins[1])
            let theirID = try #require(theirs["id"]?.stringValue)

            let listed = try await env.get("/api/v1/users?page[size]=100", token: admins[0])
            let usernames = Set(listed.json?["data"]?.arrayValue?.compactMap { $0["username"]?.stringValue } ?? [])
            #expect(usernames == ["acme-admin", "acme-user"])
            #expect(listed.json?["meta"]?["total"] == 2)

            #expect(try await env.get("/api/v1/users/\(theirID)", token: admins[0]).status == .notFound)
            #expect(try await Self.patch(env, "/api/v1/users/\(theirID)", ["firstname": "pwned"], token: admins[0]).status == .notFound)
            #expect(try await Self.delete(env, "/api/v1/users/\(theirID)", token: admins[0]).status == .notFound)
            let foreign = try await env.post(
                "/api/v1/users", json: ["username": "sneaky", "password": "sneaky-pass-123", "tenant": .string(tenants[1])], token: admins[0]
            )
            #expect(foreign.status == .forbidden)
        }
    }

    @Test("tenant admins cannot grant restricted permissions or admin roles", arguments: Backend.allCases)
    func restrictedGrants(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let (_, _, admins) = try await Self.twoTenants(env)
            for body: JSONValue in [
                ["username": "x1", "password": "x1-password-123", "permissions": ["all"]],
                ["username": "x2", "password": "x2-password-123", "permissions": ["iam.token.create"]],
                ["username": "x3", "password": "x3-password-123", "roles": ["builtin-admin"]],
            ] {
                #expect(try await env.post("/api/v1/users", json: body, token: admins[0]).status == .forbidden, "\(body)")
            }
            let allowed = try await env.post(
                "/api/v1/users", json: ["username": "x4", "password": "x4-password-123", "permissions": ["flows.read"], "roles": ["builtin-user"]],
                token: admins[0]
            )
            #expect(allowed.status == .created)
        }
    }

    @Test("account input is validated with every problem listed", arguments: Backend.allCases)
    func accountValidation(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let admin = try await env.adminToken()
            let bad = try await env.post(
                "/api/v1/users", json: ["username": "", "password": "short", "status": "SLEEPING", "permissions": ["nope"]], token: admin)
            #expect(bad.status == .badRequest)
            let reasons = Set(bad.json?["errors"]?.arrayValue?.compactMap { $0["reason"]?.stringValue } ?? [])
            #expect(reasons == ["INVALID_USERNAME", "WEAK_PASSWORD", "INVALID_STATUS", "UNKNOWN_PERMISSION"])
            _ = try await Self.create(env, "/api/v1/users", ["username": "dup", "password": "dup-password-123"], token: admin)
            let duplicate = try await env.post("/api/v1/users", json: ["username": " DUP ", "password": "dup-password-123"], token: admin)
            #expect(duplicate.status == .conflict)
            #expect(duplicate.errorReason == "USERNAME_TAKEN")
            #expect(try await env.get("/api/v1/users/not-an-id!", token: admin).status == .notFound)
            let wrongType = try await env.post(
                "/api/v1/users", json: ["username": "y", "password": "y-password-1234", "roles": "ADMIN"], token: admin)
            #expect(wrongType.errorReason == "INVALID_TYPE")
        }
    }

    @Test("role permissions merge into the account, and deleting the role removes them from live tokens", arguments: Backend.allCases)
    func rolesAreLive(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let admin = try await env.adminToken()
            let role = try await Self.create(
                env, "/api/v1/roles", ["name": "deadletter-ops", "permissions": ["bus.deadletters.manage"]], token: admin)
            let roleID = try #require(role["id"]?.stringValue)
            _ = try await Self.create(
                env, "/api/v1/users", ["username": "ops", "password": "ops-password-123", "roles": .array([.string(roleID)])], token: admin
            )
            let token = try await env.login("ops", "ops-password-123")
            #expect(try await env.get("/api/v1/bus/dead-letters", token: token).status == .ok, "granted through the role")
            #expect(try await Self.delete(env, "/api/v1/roles/\(roleID)", token: admin).status == .noContent)
            #expect(try await env.get("/api/v1/bus/dead-letters", token: token).status == .forbidden, "the same token lost the permission at once")
        }
    }

    @Test("removing a permission from an account takes effect for its existing tokens at once", arguments: Backend.allCases)
    func permissionsAreLive(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let admin = try await env.adminToken()
            let account = try await Self.create(
                env, "/api/v1/users", ["username": "reader", "password": "reader-password-1", "permissions": ["iam.account.read"]], token: admin
            )
            let id = try #require(account["id"]?.stringValue)
            let token = try await env.login("reader", "reader-password-1")
            #expect(try await env.get("/api/v1/users", token: token).status == .ok)
            #expect(try await Self.patch(env, "/api/v1/users/\(id)", ["permissions": []], token: admin).status == .ok)
            #expect(try await env.get("/api/v1/users", token: token).status == .forbidden)
        }
    }

    @Test("built-in role names are reserved and built-in roles cannot change", arguments: Backend.allCases)
    func reservedRoles(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let admin = try await env.adminToken()
            for name in ["ADMIN", "tenant_admin", "User"] {
                #expect(try await env.post("/api/v1/roles", json: ["name": .string(name), "permissions": []], token: admin).status == .forbidden)
            }
            #expect(try await Self.patch(env, "/api/v1/roles/builtin-user", ["permissions": ["all"]], token: admin).status == .forbidden)
            #expect(try await Self.delete(env, "/api/v1/roles/builtin-admin", token: admin).status == .forbidden)
            let unknown = try await env.post("/api/v1/roles", json: ["name": "r", "permissions": ["flows.reed"]], token: admin)
            #expect(unknown.status == .badRequest)
            #expect(unknown.errorReason == "UNKNOWN_PERMISSION")
        }
    }

    @Test("roles are tenant-isolated", arguments: Backend.allCases)
    func roleIsolation(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let (_, _, admins) = try await Self.twoTenants(env)
            let acmeRole = try await Self.create(env, "/api/v1/roles", ["name": "acme-viewers", "permissions": ["flows.read"]], token: admins[0])
            let roleID = try #require(acmeRole["id"]?.stringValue)
            #expect(try await env.get("/api/v1/roles/\(roleID)", token: admins[1]).status == .notFound)
            let visible = try await env.get("/api/v1/roles?page%5Bsize%5D=100", token: admins[1])
            #expect(visible.json?["meta"]?["total"] == .int(Int64(visible.json?["data"]?.arrayValue?.count ?? -1)), "one page holds them all")
            #expect(!(visible.json?["data"]?.arrayValue ?? []).contains { $0["id"]?.stringValue == roleID })
            let grant = try await env.post(
                "/api/v1/users", json: ["username": "g1", "password": "g1-password-123", "roles": .array([.string(roleID)])], token: admins[1]
            )
            #expect(grant.status == .forbidden, "a role of another tenant cannot be assigned")
        }
    }

    @Test("deleting a tenant disables its accounts and kills their tokens", arguments: Backend.allCases)
    func deleteTenant(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let (admin, tenants, admins) = try await Self.twoTenants(env)
            #expect(try await env.get("/api/v1/users/me", token: admins[0]).status == .ok)
            #expect(try await Self.delete(env, "/api/v1/tenants/\(tenants[0])", token: admin).status == .noContent)
            #expect(try await env.get("/api/v1/users/me", token: admins[0]).status == .unauthorized)
            let relogin = try await env.post("/login", json: ["username": "acme-admin", "password": "tenant-admin-pass-1"])
            #expect(relogin.errorReason == "ACCOUNT_DISABLED")
            #expect(try await env.get("/api/v1/users/me", token: admins[1]).status == .ok, "the other tenant is untouched")
        }
    }

    @Test("disabling a tenant stops its accounts' tokens and logins at once; enabling it restores them", arguments: Backend.allCases)
    func disabledTenant(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let (admin, tenants, admins) = try await Self.twoTenants(env)
            #expect(try await Self.patch(env, "/api/v1/tenants/\(tenants[0])", ["status": "disabled"], token: admin).status == .ok)
            let refused = try await env.get("/api/v1/users/me", token: admins[0])
            #expect(refused.status == .unauthorized)
            #expect(refused.errorReason == "ACCOUNT_DISABLED")
            #expect(
                try await env.post("/login", json: ["username": "acme-admin", "password": "tenant-admin-pass-1"]).errorReason == "ACCOUNT_DISABLED")
            #expect(try await env.get("/api/v1/users/me", token: admins[1]).status == .ok, "the other tenant is untouched")
            #expect(try await Self.patch(env, "/api/v1/tenants/\(tenants[0])", ["status": "ACTIVE"], token: admin).status == .ok)
            #expect(try await env.get("/api/v1/users/me", token: admins[0]).status == .ok)
        }
    }

    @Test("a tenant admin reads and updates its own tenant only", arguments: Backend.allCases)
    func tenantProfile(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let (_, tenants, admins) = try await Self.twoTenants(env)
            #expect(try await env.get("/api/v1/tenants/\(tenants[0])", token: admins[0]).status == .ok)
            #expect(try await env.get("/api/v1/tenants/\(tenants[1])", token: admins[0]).status == .notFound)
            #expect(try await env.get("/api/v1/tenants", token: admins[0]).json?["meta"]?["total"] == 1)
            #expect(try await Self.patch(env, "/api/v1/tenants/\(tenants[0])", ["name": "acme-renamed"], token: admins[0]).status == .ok)
            #expect(try await Self.patch(env, "/api/v1/tenants/\(tenants[1])", ["name": "pwned"], token: admins[0]).status == .notFound)
            #expect(try await env.post("/api/v1/tenants", json: ["name": "new"], token: admins[0]).status == .forbidden)
        }
    }

    @Test("changing one's own password needs the current one and revokes the other tokens", arguments: Backend.allCases)
    func ownPassword(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            _ = try await env.makeAccount("self", password: "self-password-12")
            let current = try await env.login("self", "self-password-12")
            let other = try await env.login("self", "self-password-12")
            let refused = try await Self.patch(env, "/api/v1/users/me", ["password": "new-password-123"], token: current)
            #expect(refused.status == .forbidden)
            let changed = try await Self.patch(
                env, "/api/v1/users/me", ["password": "new-password-123", "currentPassword": "self-password-12", "firstname": "Sam"], token: current
            )
            #expect(changed.status == .ok)
            #expect(changed.json?["data"]?["firstname"] == "Sam")
            #expect(try await env.get("/api/v1/users/me", token: current).status == .ok)
            #expect(try await env.get("/api/v1/users/me", token: other).status == .unauthorized)
            _ = try await env.login("self", "new-password-123")
        }
    }

    @Test("the permission catalog is served to any caller with a token", arguments: Backend.allCases)
    func catalog(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            #expect(try await env.get("/api/v1/permissions").status == .unauthorized)
            let admin = try await env.adminToken()
            let response = try await env.get("/api/v1/permissions?page%5Bsize%5D=100", token: admin)
            #expect(response.json?["data"]?.arrayValue?.contains { $0["name"] == "flows.read" } == true)
        }
    }

    @Test("roles and permissions are paged with true meta; bad paging is 400", arguments: Backend.allCases)
    func paging(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let admin = try await env.adminToken()
            let all = try #require(try await env.get("/api/v1/permissions?page%5Bsize%5D=100", token: admin).json?["data"]?.arrayValue)
            #expect(all.count > 5)
            let second = try await env.get("/api/v1/permissions?page%5Bsize%5D=5&page%5Bnumber%5D=2", token: admin)
            #expect(second.json?["data"]?.arrayValue == Array(all[5..<10]))
            #expect(second.json?["meta"]?["total"] == .int(Int64(all.count)))
            #expect(second.json?["meta"]?["page"] == 2)
            #expect(second.json?["meta"]?["perPage"] == 5)
            #expect(second.json?["meta"]?["totalPages"] == .int(Int64((all.count + 4) / 5)))
            let past = try await env.get("/api/v1/permissions?page%5Bsize%5D=5&page%5Bnumber%5D=1000", token: admin)
            #expect(past.json?["data"]?.arrayValue == [])
            let defaults = try await env.get("/api/v1/roles", token: admin)
            #expect(defaults.json?["meta"]?["perPage"] == 10)
            guard case .int(let roles)? = defaults.json?["meta"]?["total"] else {
                Issue.record("no total in \(String(describing: defaults.json))")
                return
            }
            #expect(defaults.json?["data"]?.arrayValue?.count == Int(min(roles, 10)))
            #expect(try await env.get("/api/v1/roles?page%5Bsize%5D=0", token: admin).status == .badRequest)
            #expect(try await env.get("/api/v1/permissions?page%5Bnumber%5D=x", token: admin).status == .badRequest)
        }
    }
}
