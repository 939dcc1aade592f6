import AuditLog
import Foundation
import Gateway
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

/// Everything a test of the identity module needs: the running gateway and its parts.
struct IdentityEnvironment: Sendable {
    let client: any TestClientProtocol
    let database: any Database
    let identity: Identity
    let messaging: Messaging
    let configuration: GatewayConfiguration
    let policies: PolicyStore

    static let adminPassword = "admin-password-for-tests"

    /// Logs in and returns the token, failing the test when login fails.
    func login(_ username: String, _ password: String) async throws -> String {
        let response = try await self.post("/login", json: ["username": .string(username), "password": .string(password)])
        guard response.status == .ok, let token = response.json?["token"]?.stringValue else {
            throw TestEnvironmentError(description: "login failed: \(response.status) \(String(buffer: response.body))")
        }
        return token
    }

    func adminToken() async throws -> String {
        try await self.login("admin", Self.adminPassword)
    }

    func post(_ uri: String, json: JSONValue, token: String? = nil) async throws -> TestResponse {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let token { headers[.authorization] = "Bearer \(token)" }
        return try await self.client.execute(uri: uri, method: .post, headers: headers, body: ByteBuffer(bytes: try JSONEncoder().encode(json)))
    }

    func get(_ uri: String, token: String? = nil, authorization: String? = nil) async throws -> TestResponse {
        var headers: HTTPFields = [:]
        if let token { headers[.authorization] = "Bearer \(token)" }
        if let authorization { headers[.authorization] = authorization }
        return try await self.client.execute(uri: uri, method: .get, headers: headers)
    }

    /// An account made directly in the store, with `roles` (built-in role names) and `permissions`.
    func makeAccount(_ username: String, password: String, roles: [String] = ["USER"], permissions: [String] = [], tenant: String? = nil)
        async throws -> Account
    {
        let now = Date()
        let account = Account(
            id: UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(24).description, username: username,
            firstname: nil, lastname: nil, tenant: tenant, status: .active, type: .user, roles: roles.map(RoleStore.builtInID),
            permissions: permissions, createdAt: now, updatedAt: now
        )
        let hash = try await self.identity.hasher.hash(password)
        try await self.database.transaction { connection in
            if let tenant {
                // The tenant exists too: an account of a tenant that does not exist may not act.
                let now = Timestamp.milliseconds(Date())
                try await connection.execute(
                    """
                    INSERT INTO iam_tenants (id, name, status, created_at, updated_at) VALUES (\(tenant), \(tenant), 'ACTIVE', \(now), \(now))
                    ON CONFLICT (id) DO NOTHING
                    """
                )
            }
            try await self.identity.accounts.insert(account, passwordHash: hash, on: connection)
        }
        return account
    }
}

extension TestResponse {
    var json: JSONValue? {
        try? JSONDecoder().decode(JSONValue.self, from: Data(self.body.readableBytesView))
    }

    var errorReason: String? {
        self.json?["errors"].flatMap { if case .array(let errors) = $0 { return errors.first?["reason"]?.stringValue } else { return nil } }
    }
}

/// The gateway as `serve` composes it (identity, dead letters, health), on a fresh database of `backend`.
func withIdentityGateway(
    _ backend: Backend,
    lockout: LockoutPolicy = LockoutPolicy(),
    accessTokenTTL: Duration = .seconds(900),
    sessionMax: Duration = .seconds(12 * 3600),
    policiesDirectory: String = PortcullisProcess.policiesDirectory,
    hasher: any PasswordHasher = BcryptPasswordHasher(cost: 4),
    issuerClock: @escaping @Sendable () -> Date = { Date() },
    _ body: @Sendable (IdentityEnvironment) async throws -> Void
) async throws {
    try await TestDatabases.withDatabase(backend) { database in
        try await MigrationRunner(
            database: database, migrations: MessagingMigrations.all + IAMMigrations.all + AuditMigrations.all, logger: TestDatabases.logger
        )
        .migrate()
        let configuration = {
            var configuration = GatewayConfiguration(
                publicURL: "http://portcullis.test", tokenAudience: "portcullis", accessTokenTTL: accessTokenTTL, lockout: lockout
            )
            // The whole suite shares one machine: a slow commit must not turn into a 503 the test did not ask for.
            configuration.auditWriteTimeout = .seconds(60)
            configuration.sessionMax = sessionMax
            return configuration
        }()
        let policies = try PolicyStore(directory: policiesDirectory)
        let assembly = GatewayAssembly(
            configuration: configuration, database: database, policies: policies,
            masterKey: MasterKey(base64: TestDatabases.masterKey)!, hasher: hasher,
            checks: [DatabaseReadiness(database: database, timeout: .seconds(60))], now: issuerClock, logger: TestDatabases.logger
        )
        let identity = assembly.identity
        let messaging = assembly.messaging
        _ = try await identity.prepare(bootstrapAdmin: ("admin", IdentityEnvironment.adminPassword))
        try await assembly.audit.bind()
        let gateway = assembly.gateway
        let app = Application(responder: gateway.buildResponder(), logger: TestDatabases.logger)
        let journal = assembly.journal
        try await withServices(assembly.services) {
            // The services start next to the body: the first request must not find the journal not yet running.
            guard await eventually({ journal.isAccepting }) else {
                throw TestEnvironmentError(description: "the decision journal did not start")
            }
            try await app.test(.router) { client in
                try await body(
                    IdentityEnvironment(
                        client: client, database: database, identity: identity, messaging: messaging, configuration: configuration,
                        policies: policies))
            }
        }
    }
}
