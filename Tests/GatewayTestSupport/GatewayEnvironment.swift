public import AuditLog
public import Foundation
public import Gateway
public import GatewayKit
public import HTTPTypes
public import Hummingbird
public import HummingbirdTesting
public import IAM
public import Messaging
import NIOCore
public import Policy
public import PortcullisCore
public import Storage
public import TestSupport

/// The gateway exactly as `serve` composes it (``GatewayAssembly`` over ``Modules/all``, start-up steps
/// included), running in-process on a fresh database, and the parts tests reach into.
public struct IdentityEnvironment: Sendable {
    public let client: any TestClientProtocol
    public let database: any Database
    public let identity: Identity
    public let messaging: Messaging
    public let audit: AuditLog
    public let configuration: GatewayConfiguration
    public let policies: PolicyStore
    /// Every module of the assembly, as built.
    public let modules: [any GatewayModule]
    /// What the modules offer each other.
    public let capabilities: ModuleCapabilities
    /// The decision journal the access step records into.
    public let journal: DecisionJournal

    public static let adminPassword = "admin-password-for-tests"

    /// Logs in and returns the token, failing the test when login fails.
    public func login(_ username: String, _ password: String) async throws -> String {
        let response = try await self.post("/login", json: ["username": .string(username), "password": .string(password)])
        guard response.status == .ok, let token = response.json?["token"]?.stringValue else {
            throw TestEnvironmentError(description: "login failed: \(response.status) \(String(buffer: response.body))")
        }
        return token
    }

    public func adminToken() async throws -> String {
        try await self.login("admin", Self.adminPassword)
    }

    public func post(_ uri: String, json: JSONValue, token: String? = nil) async throws -> TestResponse {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let token { headers[.authorization] = "Bearer \(token)" }
        return try await self.client.execute(uri: uri, method: .post, headers: headers, body: ByteBuffer(bytes: try JSONEncoder().encode(json)))
    }

    public func get(_ uri: String, token: String? = nil, authorization: String? = nil, requestID: String? = nil) async throws -> TestResponse {
        var headers: HTTPFields = [:]
        if let token { headers[.authorization] = "Bearer \(token)" }
        if let authorization { headers[.authorization] = authorization }
        if let requestID { headers[HTTPField.Name("x-request-id")!] = requestID }
        return try await self.client.execute(uri: uri, method: .get, headers: headers)
    }

    /// An account made directly in the store, with `roles` (built-in role names) and `permissions`.
    public func makeAccount(_ username: String, password: String, roles: [String] = ["USER"], permissions: [String] = [], tenant: String? = nil)
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
    public var json: JSONValue? {
        try? JSONDecoder().decode(JSONValue.self, from: Data(self.body.readableBytesView))
    }

    public var errorReason: String? {
        self.json?["errors"].flatMap { if case .array(let errors) = $0 { return errors.first?["reason"]?.stringValue } else { return nil } }
    }

    /// The decoded error envelope, or nil when the body is not one.
    public var envelope: ErrorEnvelope? {
        try? JSONDecoder().decode(ErrorEnvelope.self, from: Data(self.body.readableBytesView))
    }

    public var bodyText: String {
        String(buffer: self.body)
    }
}

/// The configuration tests start from: a test issuer, and generous timeouts, because the whole suite
/// shares one machine and a slow commit must not turn into a 503 the test did not ask for.
public func testConfiguration() -> GatewayConfiguration {
    var configuration = GatewayConfiguration(publicURL: "http://portcullis.test", tokenAudience: "portcullis")
    configuration.auditWriteTimeout = .seconds(60)
    configuration.databaseTimeout = .seconds(60)
    configuration.bootstrapAdmin = ("admin", IdentityEnvironment.adminPassword)
    return configuration
}

/// Assembles the gateway over `database` as `serve` does (``GatewayAssembly``, its start-up steps, its
/// supervised services) with `modules` (``Modules/all`` unless a test adds its own), and runs `body`
/// against its router in-process.
public func withAssembledGateway<Result: Sendable>(
    database: any Database,
    configuration: GatewayConfiguration = testConfiguration(),
    policiesDirectory: String = PortcullisProcess.policiesDirectory,
    modules: [any GatewayModule.Type] = Modules.all,
    passwordHasher: any PasswordHasher = BcryptPasswordHasher(cost: 4),
    clock: WallClock = .system,
    _ body: @Sendable (GatewayAssembly, any TestClientProtocol) async throws -> Result
) async throws -> Result {
    let assembly = try GatewayAssembly(
        configuration: configuration, database: database, policies: try PolicyStore(directory: policiesDirectory),
        masterKey: MasterKey(base64: TestDatabases.masterKey)!, modules: modules, clock: clock, passwordHasher: passwordHasher,
        console: { _ in }, logger: TestDatabases.logger)
    try await assembly.prepare()
    let app = Application(router: assembly.makeGateway().buildRouter(), logger: TestDatabases.logger)
    let journal = assembly.journal
    return try await withServices(assembly.services) {
        // The services start next to the body: the first request must not find the journal not yet running.
        guard await eventually({ journal.isAccepting }) else {
            throw TestEnvironmentError(description: "the decision journal did not start")
        }
        return try await app.test(.router) { client in try await body(assembly, client) }
    }
}

/// The gateway as `serve` composes it, on a fresh database of `backend`, with the identity parts at hand.
public func withIdentityGateway(
    _ backend: Backend,
    lockout: LockoutPolicy = LockoutPolicy(),
    accessTokenTTL: Duration = .seconds(900),
    sessionMax: Duration = .seconds(12 * 3600),
    policiesDirectory: String = PortcullisProcess.policiesDirectory,
    hasher: any PasswordHasher = BcryptPasswordHasher(cost: 4),
    clock: WallClock = .system,
    modules: [any GatewayModule.Type] = Modules.all,
    configure: @Sendable (inout GatewayConfiguration) -> Void = { _ in },
    wrapDatabase: @Sendable (any Database) -> any Database = { $0 },
    _ body: @Sendable (IdentityEnvironment) async throws -> Void
) async throws {
    let configuration = {
        var configuration = testConfiguration()
        configuration.accessTokenTTL = accessTokenTTL
        configuration.lockout = lockout
        configuration.sessionMax = sessionMax
        configure(&configuration)
        return configuration
    }()
    try await TestDatabases.withDatabase(backend) { database in
        let database = wrapDatabase(database)
        try await withAssembledGateway(
            database: database, configuration: configuration, policiesDirectory: policiesDirectory, modules: modules, passwordHasher: hasher,
            clock: clock
        ) { assembly, client in
            guard let iam = assembly.module(IAMModule.self), let audit = assembly.module(AuditModule.self) else {
                throw TestEnvironmentError(description: "the identity and audit modules are not in the list")
            }
            try await body(
                IdentityEnvironment(
                    client: client, database: database, identity: iam.identity, messaging: assembly.messaging, audit: audit.audit,
                    configuration: configuration, policies: assembly.policies, modules: assembly.modules,
                    capabilities: assembly.environment.capabilities, journal: assembly.journal))
        }
    }
}
