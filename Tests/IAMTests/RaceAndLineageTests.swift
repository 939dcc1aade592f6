import Foundation
import GatewayKit
import GatewayTestSupport
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Policy
import PortcullisCore
import Storage
import Synchronization
import TestSupport
import Testing

@testable import IAM

/// A recorder for checks made outside a request: records nothing and lets every check through.
struct AcceptingRecorder: ResourceDecisionRecorder {
    func record(_ decision: Decision, about principal: Principal?, resource: ResourceRef) async throws {}
    func settle() async throws {}
}

/// A hasher whose pool the test can fill: new hashes are then refused, existing passwords still verify.
final class FullPoolHasher: PasswordHasher {
    let inner = BcryptPasswordHasher(cost: 4)
    let full = Mutex(false)
    func hash(_ password: String) async throws -> String {
        if self.full.withLock({ $0 }) { throw PasswordHashingPool.Busy() }
        return try await self.inner.hash(password)
    }
    func verify(_ password: String, against hash: String) async throws -> Bool { try await self.inner.verify(password, against: hash) }
    func needsRehash(_ hash: String) -> Bool { false }
}

/// What two requests at once, or a change between a check and a write, could do; and how a token's
/// successors inherit its limits.
@Suite("Races between checks and writes, and token lineage")
struct RaceAndLineageTests {
    static func principal(_ env: IdentityEnvironment, _ token: String) async throws -> Principal {
        try await env.identity.verifier.verify(token)
    }

    @Test("a change between the ceiling check and the write is 409, never a write over what was not checked", arguments: Backend.allCases)
    func ceilingIsConfirmedAtWrite(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let admin = try await env.adminToken()
            let caller = try await Self.principal(env, admin)
            let grants = GrantChecks(accounts: env.identity.accounts, roles: env.identity.roles, policies: env.policies)
            let role = try await AdministrationTests.create(env, "/api/v1/roles", ["name": "viewer", "permissions": ["flows.read"]], token: admin)
            let roleID = try #require(role["id"]?.stringValue)
            let created = try await AdministrationTests.create(
                env, "/api/v1/users", ["username": "plain", "password": "plain-password-1", "roles": [.string(roleID)]], token: admin)
            let id = try #require(created["id"]?.stringValue)

            // The account itself changes after the check.
            var account = try #require(try await env.identity.accounts.find(id: id))
            var ceiling = try await grants.requireCeiling(caller, over: account, decisions: AcceptingRecorder())
            #expect(try await AdministrationTests.patch(env, "/api/v1/users/\(id)", ["status": "DISABLED"], token: admin).status == .ok)
            await #expect(throws: IAMError.self) { try await env.database.transaction { try await grants.confirm(ceiling, on: $0) } }

            // A role of the account grows after the check.
            account = try #require(try await env.identity.accounts.find(id: id))
            ceiling = try await grants.requireCeiling(caller, over: account, decisions: AcceptingRecorder())
            try await env.database.transaction { try await grants.confirm(ceiling, on: $0) }
            let grown = try await AdministrationTests.patch(
                env, "/api/v1/roles/\(roleID)", ["permissions": ["flows.read", "tenant.account.delete"]], token: admin)
            #expect(grown.status == .ok)
            await #expect(throws: IAMError.self) { try await env.database.transaction { try await grants.confirm(ceiling, on: $0) } }
        }
    }

    @Test("a password proven just before a reset opens no session", arguments: Backend.allCases)
    func oldPasswordAfterReset(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let admin = try await env.adminToken()
            let user = try await env.makeAccount("resettee", password: "old-password-123")
            let proven = try await env.identity.login.authenticate(username: "resettee", password: "old-password-123", clientIP: "198.51.100.1")
            #expect(
                try await AdministrationTests.patch(env, "/api/v1/users/\(user.id)", ["password": "new-password-456"], token: admin).status == .ok)
            #expect(try await env.identity.login.issue(for: proven, withRefreshToken: true) == nil)
            // Without the reset the same proof opens a session: the check above is what refused it.
            let fresh = try await env.identity.login.authenticate(username: "resettee", password: "new-password-456", clientIP: "198.51.100.1")
            #expect(try await env.identity.login.issue(for: fresh, withRefreshToken: true)?.refresh != nil)
        }
    }

    @Test("an account whose tenant is gone cannot log in", arguments: Backend.allCases)
    func goneTenant(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            _ = try await env.makeAccount("orphan", password: "orphan-password-1", tenant: "doomed")
            _ = try await env.login("orphan", "orphan-password-1")
            // The tenant row vanishes without its accounts being disabled (a deletion racing a creation).
            try await env.database.execute("DELETE FROM iam_tenants WHERE id = 'doomed'")
            let refused = try await env.post("/login", json: ["username": "orphan", "password": "orphan-password-1"])
            #expect(refused.status == .unauthorized)
            #expect(refused.errorReason == "ACCOUNT_DISABLED")
        }
    }

    @Test("only platform admins enable or disable a tenant; a stale tenant write is refused", arguments: Backend.allCases)
    func tenantStatus(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let (admin, tenants, admins) = try await AdministrationTests.twoTenants(env)
            let id = "tenant-status-\(UUID().uuidString.prefix(8))"
            let refused = try await env.send(.patch, "/api/v1/tenants/\(tenants[0])", token: admins[0], requestID: id, json: ["status": "DISABLED"])
            #expect(refused.status == .forbidden)
            _ = try await env.resourceDecisions(of: id, outcome: "deny", reason: "MISSING_PERMISSION", admin: admin)
            #expect(try await AdministrationTests.patch(env, "/api/v1/tenants/\(tenants[0])", ["name": "acme-2"], token: admins[0]).status == .ok)

            let store = TenantStore(database: env.database)
            var tenant = try #require(try await store.find(id: tenants[0]))
            let checked = tenant.updatedAt
            #expect(try await AdministrationTests.patch(env, "/api/v1/tenants/\(tenants[0])", ["status": "DISABLED"], token: admin).status == .ok)
            tenant.name = "stale-write"
            tenant.updatedAt = Date()
            let written = try await env.database.transaction { try await store.update(tenant, ifUpdatedAt: checked, on: $0) }
            #expect(written == false)
            #expect(try await store.find(id: tenants[0])?.status == .disabled, "the platform admin's disable stands")
        }
    }

    @Test("successors inherit their token's limits: lifetime, refresh family and grant", arguments: Backend.allCases)
    func lineage(backend: Backend) async throws {
        try await withIdentityGateway(backend) { env in
            let admin = try await env.adminToken()
            let worker = try await env.makeAccount("worker", password: "worker-password-1", permissions: ["flows.read"])
            let exchanger = try await OAuthTests.serviceAccount(env, name: "exchanger", permissions: ["iam.token.exchange", "flows.read"])
            let basic = OAuthTests.basic(exchanger.clientID, exchanger.secret)
            func exchange(_ subject: String) async throws -> TestResponse {
                try await OAuthTests.form(
                    env, "/oauth2/token",
                    [("grant_type", OAuthService.tokenExchange), ("subject_token", subject), ("subject_token_type", OAuthService.accessTokenType)],
                    headers: basic)
            }

            // A one-minute token stays a one-minute grant, refreshed or exchanged.
            let short = try await env.post("/api/v1/tokens", json: ["accountId": .string(worker.id), "expiresIn": "1m"], token: admin)
            let shortToken = try #require(short.json?["data"]?["token"]?.stringValue)
            let exchanged = try await exchange(shortToken)
            #expect(exchanged.status == .ok)
            #expect((exchanged.json?["expires_in"]).flatMap(TokenLifetimeTests.number).map { $0 <= 60 } == true)
            let refreshed = try await env.post("/api/v1/tokens/refresh", json: [:], token: shortToken)
            #expect((refreshed.json?["expiresIn"]).flatMap(TokenLifetimeTests.number).map { $0 <= 60 } == true)

            // A logout ends the tokens exchanged from its session.
            let session = try await TokenLifetimeTests.passwordGrant(env, "worker", "worker-password-1")
            let delegated = try #require(try await exchange(session.access).json?["access_token"]?.stringValue)
            #expect(try await env.get("/api/v1/users/me", token: delegated).status == .ok)
            #expect(try await env.post("/logout", json: [:], token: session.access).status == .ok)
            #expect(try await env.get("/api/v1/users/me", token: delegated).status == .unauthorized)

            // A rotated secret takes what was exchanged from the tokens it obtained.
            let own = try await OAuthTests.form(env, "/oauth2/token", [("grant_type", "client_credentials")], headers: basic)
            let ownToken = try #require(own.json?["access_token"]?.stringValue)
            let fromOwn = try #require(try await exchange(ownToken).json?["access_token"]?.stringValue)
            #expect(try await env.post("/api/v1/service-accounts/\(exchanger.id)/secret", json: [:], token: admin).status == .ok)
            #expect(try await env.get("/api/v1/users/me", token: fromOwn).status == .unauthorized)
        }
    }

    @Test("a full hashing pool answers 503 with Retry-After wherever a password is set", arguments: Backend.allCases)
    func fullPoolIsNotAnError(backend: Backend) async throws {
        let hasher = FullPoolHasher()
        try await withIdentityGateway(backend, hasher: hasher) { env in
            let admin = try await env.adminToken()
            hasher.full.withLock { $0 = true }
            let created = try await env.post("/api/v1/users", json: ["username": "later", "password": "later-password-1"], token: admin)
            #expect(created.status == .serviceUnavailable)
            #expect(created.errorReason == "TOO_BUSY")
            #expect(created.headers[.retryAfter] == "1")
        }
    }
}
