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

/// The attacks of a tenant user who holds a little and wants more: each is performed through HTTP, seen
/// refused with its documented status, leaves nothing changed, and leaves a recorded deny.
@Suite("Privilege ceilings and the grant rule")
struct PrivilegeCeilingTests {
    static func requestID(_ label: String) -> String { "\(label)-\(UUID().uuidString.prefix(8))" }

    /// acme's tenant admin (id, password) and a helpdesk account of acme that may read and update accounts.
    static func helpdesk(_ env: IdentityEnvironment) async throws -> (admin: String, tenant: String, tenantAdminID: String, helpdesk: String) {
        let (admin, tenants, admins) = try await AdministrationTests.twoTenants(env)
        let listed = try await env.get("/api/v1/users?page%5Bsize%5D=100", token: admins[0])
        let tenantAdminID = try #require(
            listed.json?["data"]?.arrayValue?.first(where: { $0["username"] == "acme-admin" })?["id"]?.stringValue)
        _ = try await AdministrationTests.create(
            env, "/api/v1/users",
            ["username": "helpdesk", "password": "helpdesk-pass-123", "permissions": ["tenant.account.read", "tenant.account.update"]],
            token: admins[0])
        return (admin, tenants[0], tenantAdminID, try await env.login("helpdesk", "helpdesk-pass-123"))
    }

    @Test("a helpdesk user cannot reset, rename, disable or re-role its tenant admin", arguments: Backend.allCases)
    func passwordResetCeiling(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let (admin, _, tenantAdminID, helpdesk) = try await Self.helpdesk(env)
            for body: JSONValue in [["password": "taken-over-pass-1"], ["status": "DISABLED"], ["firstname": "pwned"], ["roles": []]] {
                let id = Self.requestID("ceiling")
                let response = try await env.send(.patch, "/api/v1/users/\(tenantAdminID)", token: helpdesk, requestID: id, json: body)
                #expect(response.status == .forbidden, "\(body)")
                #expect(response.errorReason == "EXCEEDS_CALLER")
                #expect(response.json?["errors"]?.arrayValue?.first?["message"]?.stringValue?.contains("tenant.all") == true)
                let denies = try await env.resourceDecisions(of: id, outcome: "deny", reason: "EXCEEDS_CALLER", admin: admin)
                #expect(denies.first?["permission"] == "tenant.all")
                #expect(denies.first?["resource"]?["id"]?.stringValue == tenantAdminID)
            }
            let replaced = try await env.send(
                .put, "/api/v1/users/\(tenantAdminID)", token: helpdesk, requestID: Self.requestID("put"),
                json: ["username": "acme-admin", "password": "taken-over-pass-1"])
            #expect(replaced.status == .forbidden)
            // Nothing changed: the old password works, the new one does not, the account is enabled.
            _ = try await env.login("acme-admin", "tenant-admin-pass-1")
            #expect(try await env.post("/login", json: ["username": "acme-admin", "password": "taken-over-pass-1"]).status == .unauthorized)
            let account = try await env.get("/api/v1/users/\(tenantAdminID)", token: admin)
            #expect(account.json?["data"]?["status"] == "ACTIVE")
            #expect(account.json?["data"]?["roles"] == ["builtin-tenant_admin"])
            #expect(account.json?["data"]?["firstname"] == nil)
        }
    }

    @Test("the ceiling still lets a caller act on accounts within what it holds", arguments: Backend.allCases)
    func ceilingAllowsPeers(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let (_, _, _, helpdesk) = try await Self.helpdesk(env)
            let listed = try await env.get("/api/v1/users?page%5Bsize%5D=100", token: helpdesk)
            let selfID = try #require(listed.json?["data"]?.arrayValue?.first(where: { $0["username"] == "helpdesk" })?["id"]?.stringValue)
            let renamed = try await AdministrationTests.patch(env, "/api/v1/users/\(selfID)", ["firstname": "Hel"], token: helpdesk)
            #expect(renamed.status == .ok)
            #expect(renamed.json?["data"]?["firstname"] == "Hel")
        }
    }

    @Test("tokens: minting for an account needs its whole power; customPermissions are held by both", arguments: Backend.allCases)
    func tokenCeiling(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let admin = try await env.adminToken()
            _ = try await env.makeAccount(
                "minter", password: "minter-password-1", roles: [],
                permissions: ["iam.token.create", "iam.token.update", "flows.read", "flows.write"])
            let worker = try await env.makeAccount("worker", password: "worker-password-1", roles: [], permissions: ["flows.read"])
            let boss = try await env.makeAccount("boss", password: "boss-password-123", roles: ["USER"])
            let minter = try await env.login("minter", "minter-password-1")

            let id = Self.requestID("mint-admin")
            let adminID = try #require(try await env.get("/api/v1/users/me", token: admin).json?["data"]?["id"]?.stringValue)
            let forAdmin = try await env.send(.post, "/api/v1/tokens", token: minter, requestID: id, json: ["accountId": .string(adminID)])
            #expect(forAdmin.status == .forbidden)
            #expect(forAdmin.errorReason == "EXCEEDS_CALLER")
            _ = try await env.resourceDecisions(of: id, outcome: "deny", reason: "EXCEEDS_CALLER", admin: admin)
            let forBoss = try await env.post("/api/v1/tokens", json: ["accountId": .string(boss.id)], token: minter)
            #expect(forBoss.status == .forbidden, "USER holds logs.read, which the minter does not")

            let widened = try await env.post(
                "/api/v1/tokens", json: ["accountId": .string(worker.id), "customPermissions": ["flows.write"]], token: minter)
            #expect(widened.status == .forbidden)
            #expect(widened.errorReason == "EXCEEDS_ACCOUNT")
            let narrowed = try await env.post(
                "/api/v1/tokens", json: ["accountId": .string(worker.id), "customPermissions": ["flows.read"], "expiresIn": "10m"], token: minter)
            #expect(narrowed.status == .created)
            #expect(narrowed.json?["data"]?["expiresAt"]?.stringValue != nil)
            let persistent = try await env.post("/api/v1/tokens", json: ["accountId": .string(worker.id), "expiresIn": -1], token: minter)
            #expect(persistent.status == .created)
            // expiresAt is always answered: null for a persistent token.
            #expect(String(buffer: persistent.body).contains("\"expiresAt\":null"))
        }
    }

    @Test("roles: a tenant admin cannot put into a role, or hand out by a role, what it may not grant", arguments: Backend.allCases)
    func roleGrants(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let (admin, _, admins) = try await AdministrationTests.twoTenants(env)
            // The platform admin gives acme's admin iam.token.exchange directly: held, but not tenant-grantable.
            let listed = try await env.get("/api/v1/users?page%5Bsize%5D=100", token: admin)
            let tenantAdminID = try #require(
                listed.json?["data"]?.arrayValue?.first(where: { $0["username"] == "acme-admin" })?["id"]?.stringValue)
            let granted = try await AdministrationTests.patch(
                env, "/api/v1/users/\(tenantAdminID)", ["permissions": ["iam.token.exchange"]], token: admin)
            #expect(granted.status == .ok)
            let tenantAdmin = admins[0]
            let cases: [(JSONValue, HTTPResponse.Status, String)] = [
                (["name": "laundry", "permissions": ["flows.read", "iam.token.exchange"]], .forbidden, "NOT_TENANT_GRANTABLE"),
                (["name": "wider", "permissions": ["flows.read", "iam.token.read"]], .forbidden, "RESTRICTED_PERMISSION"),
                (["name": "metrics", "permissions": ["metrics.read"]], .forbidden, "NOT_HELD"),
                (["name": "crown", "permissions": ["all"]], .forbidden, "RESTRICTED_PERMISSION"),
                (["name": "typo", "permissions": ["flows.raed"]], .badRequest, "UNKNOWN_PERMISSION"),
            ]
            for (body, status, reason) in cases {
                let id = Self.requestID("role")
                let response = try await env.send(.post, "/api/v1/roles", token: tenantAdmin, requestID: id, json: body)
                #expect(response.status == status, "\(body)")
                #expect(response.errorReason == reason)
                if status == .forbidden {
                    _ = try await env.resourceDecisions(of: id, outcome: "deny", reason: reason, admin: admin)
                }
            }
            let names = try await env.get("/api/v1/roles", token: admin).json?["data"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
            #expect(Set(names).isDisjoint(with: ["laundry", "wider", "metrics", "crown", "typo"]), "no refused role was created")

            // A role the platform admin filled with more than a tenant admin may give cannot be handed out by one.
            let role = try await AdministrationTests.create(
                env, "/api/v1/roles", ["name": "exchange", "permissions": ["metrics.read"], "tenant": .string(try Self.tenantID(env, admin))],
                token: admin)
            let roleID = try #require(role["id"]?.stringValue)
            let id = Self.requestID("assign")
            let assigned = try await env.send(
                .post, "/api/v1/users", token: tenantAdmin, requestID: id,
                json: ["username": "laundered", "password": "laundered-pass-1", "roles": [.string(roleID)]])
            #expect(assigned.status == .forbidden)
            #expect(assigned.errorReason == "NOT_HELD")
            _ = try await env.resourceDecisions(of: id, outcome: "deny", reason: "NOT_HELD", admin: admin)
            #expect(try await env.post("/login", json: ["username": "laundered", "password": "laundered-pass-1"]).status == .unauthorized)

            // Changing a role is giving what is added to it, by the same rule.
            let ownRole = try await AdministrationTests.create(
                env, "/api/v1/roles", ["name": "mine", "permissions": ["flows.read"]], token: tenantAdmin)
            let ownRoleID = try #require(ownRole["id"]?.stringValue)
            let patchID = Self.requestID("role-patch")
            let widened = try await env.send(
                .patch, "/api/v1/roles/\(ownRoleID)", token: tenantAdmin, requestID: patchID,
                json: ["permissions": ["flows.read", "iam.token.exchange"]])
            #expect(widened.status == .forbidden)
            _ = try await env.resourceDecisions(of: patchID, outcome: "deny", reason: "NOT_TENANT_GRANTABLE", admin: admin)
            #expect(try await env.get("/api/v1/roles/\(ownRoleID)", token: tenantAdmin).json?["data"]?["permissions"] == ["flows.read"])

            // Someone who creates roles without being a tenant admin only puts in what it holds.
            _ = try await AdministrationTests.create(
                env, "/api/v1/users",
                ["username": "role-maker", "password": "role-maker-pass-1", "permissions": ["tenant.roles.create", "flows.read"]],
                token: tenantAdmin)
            let maker = try await env.login("role-maker", "role-maker-pass-1")
            let notHeld = try await env.post("/api/v1/roles", json: ["name": "writer", "permissions": ["flows.write"]], token: maker)
            #expect(notHeld.status == .forbidden)
            #expect(notHeld.errorReason == "NOT_HELD")
            #expect(try await env.post("/api/v1/roles", json: ["name": "reader", "permissions": ["flows.read"]], token: maker).status == .created)
        }
    }

    /// The id of acme, as the platform admin lists it.
    static func tenantID(_ env: IdentityEnvironment, _ admin: String) async throws -> String {
        let tenants = try await env.get("/api/v1/tenants", token: admin)
        return try #require(tenants.json?["data"]?.arrayValue?.first(where: { $0["name"] == "acme" })?["id"]?.stringValue)
    }

    @Test("service accounts: rotating a secret needs update and the ceiling; deleting needs delete", arguments: Backend.allCases)
    func serviceAccountSecrets(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let (admin, tenants, admins) = try await AdministrationTests.twoTenants(env)
            // A platform admin gives a service of acme a permission tenant admins cannot hold.
            let created = try await AdministrationTests.create(
                env, "/api/v1/service-accounts", ["name": "checker", "tenant": .string(tenants[0]), "permissions": ["iam.token.introspect"]],
                token: admin)
            let serviceID = try #require(created["id"]?.stringValue)
            let clientID = try #require(created["clientId"]?.stringValue)
            let secret = try #require(created["clientSecret"]?.stringValue)

            let id = Self.requestID("rotate")
            let rotated = try await env.send(.post, "/api/v1/service-accounts/\(serviceID)/secret", token: admins[0], requestID: id)
            #expect(rotated.status == .forbidden)
            #expect(rotated.errorReason == "EXCEEDS_CALLER")
            _ = try await env.resourceDecisions(of: id, outcome: "deny", reason: "EXCEEDS_CALLER", admin: admin)

            _ = try await AdministrationTests.create(
                env, "/api/v1/users",
                ["username": "viewer", "password": "viewer-password-1", "permissions": ["tenant.account.read", "tenant.account.create"]],
                token: admins[0])
            let viewer = try await env.login("viewer", "viewer-password-1")
            #expect(try await env.post("/api/v1/service-accounts/\(serviceID)/secret", json: [:], token: viewer).status == .forbidden)
            #expect(try await AdministrationTests.delete(env, "/api/v1/service-accounts/\(serviceID)", token: viewer).status == .forbidden)
            #expect(try await AdministrationTests.delete(env, "/api/v1/service-accounts/\(serviceID)", token: admins[1]).status == .notFound)
            let deleteID = Self.requestID("delete-above")
            let deleted = try await env.send(.delete, "/api/v1/service-accounts/\(serviceID)", token: admins[0], requestID: deleteID)
            #expect(deleted.status == .forbidden, "deleting an account that holds more than the caller is above the ceiling too")
            _ = try await env.resourceDecisions(of: deleteID, outcome: "deny", reason: "EXCEEDS_CALLER", admin: admin)

            // The secret still works after every refused attempt.
            let token = try await OAuthTests.form(
                env, "/oauth2/token", [("grant_type", "client_credentials")], headers: OAuthTests.basic(clientID, secret))
            #expect(token.status == .ok)
        }
    }

    @Test("moving an account needs an existing tenant and drops the old tenant's roles", arguments: Backend.allCases)
    func tenantMoves(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let (admin, tenants, admins) = try await AdministrationTests.twoTenants(env)
            let role = try await AdministrationTests.create(
                env, "/api/v1/roles", ["name": "acme-readers", "permissions": ["flows.read"]], token: admins[0])
            let roleID = try #require(role["id"]?.stringValue)
            let user = try await AdministrationTests.create(
                env, "/api/v1/users", ["username": "mover", "password": "mover-password-1", "roles": [.string(roleID), "builtin-user"]],
                token: admins[0])
            let userID = try #require(user["id"]?.stringValue)

            let nowhere = try await AdministrationTests.patch(env, "/api/v1/users/\(userID)", ["tenant": "no-such-tenant"], token: admin)
            #expect(nowhere.status == .badRequest)
            #expect(nowhere.errorReason == "UNKNOWN_TENANT")
            let byTenantAdmin = try await AdministrationTests.patch(env, "/api/v1/users/\(userID)", ["tenant": .string(tenants[1])], token: admins[0])
            #expect(byTenantAdmin.status == .forbidden)

            let moved = try await AdministrationTests.patch(env, "/api/v1/users/\(userID)", ["tenant": .string(tenants[1])], token: admin)
            #expect(moved.status == .ok)
            #expect(moved.json?["data"]?["tenant"]?.stringValue == tenants[1])
            #expect(moved.json?["data"]?["roles"] == ["builtin-user"], "acme's role means nothing in globex")
        }
    }
}
