import Crypto
import Foundation
public import Messaging
public import Policy
public import PortcullisCore
public import Storage

/// Service accounts: accounts of type `service` with a client id and a secret for the `client_credentials`
/// grant. The secret is shown once and stored as an HMAC-SHA256 under a key derived from the master key,
/// so a copy of the database alone does not allow offline guessing.
public struct ServiceAccounts: Sendable {
    /// What the caller sees once, at creation or rotation.
    public struct Credentials: Sendable, Encodable {
        public let id: String
        public let clientID: String
        public let clientSecret: String

        enum CodingKeys: String, CodingKey {
            case id
            case clientID = "clientId"
            case clientSecret
        }
    }

    /// A client that proved its secret: its account, and which secret it proved (to issue under it).
    public struct Client: Sendable {
        public let account: Account
        let clientID: String
        let secretHash: String
    }

    let database: any Database
    let accounts: AccountStore
    let tokens: TokenStore
    let clients: ServiceClientStore
    let cache: PrincipalCache
    let administration: AccountAdministration
    let secretKey: SymmetricKey

    public init(
        database: any Database, accounts: AccountStore, tokens: TokenStore, clients: ServiceClientStore, cache: PrincipalCache,
        administration: AccountAdministration, masterKey: MasterKey
    ) {
        self.database = database
        self.accounts = accounts
        self.tokens = tokens
        self.clients = clients
        self.cache = cache
        self.administration = administration
        self.secretKey = masterKey.derived(for: "client-secrets")
    }

    public func create(
        name: String?, tenant: String?, roles: [String]?, permissions: [String]?, by caller: Principal, decisions: any ResourceDecisionRecorder,
        requestID: String?
    ) async throws -> Credentials {
        var changes = AccountAdministration.Changes(
            username: name, tenant: tenant, type: "service", roles: roles ?? [RoleStore.builtInID("SERVICE_ACCOUNT")], permissions: permissions
        )
        changes.password = nil
        let account = try await self.administration.create(changes, by: caller, decisions: decisions, requestID: requestID, requirePassword: false)
        return try await self.issueSecret(for: account.id, confirming: nil)
    }

    /// A new secret for the service account; the old one stops working at once, and so do the access tokens
    /// issued with it (`client_credentials`). Needs the update permission over the account and the ceiling:
    /// a new secret is the account's whole power.
    public func rotate(_ id: String, by caller: Principal, decisions: any ResourceDecisionRecorder) async throws -> Credentials {
        let account = try await self.serviceAccount(id, by: caller, action: "update", decisions: decisions)
        try await self.administration.refuseFlowAccount(account.id)
        let ceiling = try await self.administration.grants.requireCeiling(caller, over: account, decisions: decisions)
        return try await self.issueSecret(for: account.id, confirming: ceiling)
    }

    public func list(by caller: Principal, offset: Int, limit: Int) async throws -> (items: [Account], total: Int) {
        guard let listing = self.administration.scope(of: caller, action: "read").listing else {
            throw IAMError.forbidden(PermissionRequirement.allOf(["iam.account.read"]).refusal(missing: ["iam.account.read"]))
        }
        return try await self.accounts.list(tenant: listing.tenant, type: .service, offset: offset, limit: limit)
    }

    public func get(_ id: String, by caller: Principal, decisions: any ResourceDecisionRecorder) async throws -> Account {
        try await self.serviceAccount(id, by: caller, action: "read", decisions: decisions)
    }

    /// Deletes the service account with its secret, after the delete check and the ceiling.
    public func delete(_ id: String, by caller: Principal, decisions: any ResourceDecisionRecorder, requestID: String?) async throws {
        guard let account = try await self.accounts.find(id: id), account.type == .service else {
            throw IAMError.notFound("Service account not found.")
        }
        try await self.administration.delete(account.id, by: caller, decisions: decisions, requestID: requestID)
    }

    /// The account of `clientID` when `secret` is its current secret (compared in constant time) and it may
    /// act: active, in an enabled tenant.
    public func authenticate(clientID: String, secret: String) async throws -> Client? {
        guard let client = try await self.clients.find(clientID: clientID) else { return nil }
        let expected = client.secretHash
        guard Hex.constantTimeEquals(self.hash(secret), expected) else { return nil }
        guard let account = try await self.accounts.find(id: client.accountID),
            try await self.accounts.isEnabled(account)
        else { return nil }
        return Client(account: account, clientID: clientID, secretHash: expected)
    }

    /// Runs `issue` in a transaction that holds the client's row (shared) and finds its secret unchanged:
    /// a rotation either commits first (the secret no longer matches: nil) or waits for this transaction,
    /// and then revokes what it issued. So no token obtained with an old secret outlives the rotation.
    func underCurrentSecret<Issued: Sendable>(
        _ client: Client, _ issue: @Sendable (any DatabaseConnection) async throws -> Issued
    ) async throws -> Issued? {
        try await self.database.transaction { connection in
            // The client's lock (shared) first: a rotation or a deletion asking for it goes ahead of later grants.
            try await connection.hold(.serviceClient, key: client.account.id, mode: .shared)
            guard let current = try await self.clients.secretHash(clientID: client.clientID, holdingOn: connection),
                Hex.constantTimeEquals(current, client.secretHash)
            else { return nil }
            return try await issue(connection)
        }
    }

    /// A service account the caller may `action` (recorded); anything else is 404.
    private func serviceAccount(_ id: String, by caller: Principal, action: String, decisions: any ResourceDecisionRecorder) async throws -> Account {
        guard let account = try await self.accounts.find(id: id), account.type == .service,
            try await self.administration.check(caller, action, account, decisions)
        else { throw IAMError.notFound("Service account not found.") }
        return account
    }

    /// A new secret: for a new client (no `ceiling`), or replacing the current one once `ceiling` confirms
    /// the account is still what was checked, in one transaction with the revocation of every token the old
    /// secret obtained (`client_credentials`).
    private func issueSecret(for accountID: String, confirming ceiling: GrantChecks.Ceiling?) async throws -> Credentials {
        let creating = ceiling == nil
        let secret = Identifiers.opaqueToken(prefix: "pcc_")
        let hash = self.hash(secret)
        let clients = self.clients
        let database = self.database
        let clientID: String = try await database.transaction { connection in
            try await ServiceClientStore.holdExclusively(accountID: accountID, on: connection)
            if creating {
                let clientID = "sa_" + Identifiers.objectID()
                try await clients.insert(clientID: clientID, accountID: accountID, secretHash: hash, on: connection)
                return clientID
            }
            if let ceiling { try await self.administration.grants.confirm(ceiling, on: connection) }
            guard let clientID = try await clients.rotate(accountID: accountID, secretHash: hash, on: connection) else {
                throw IAMError.notFound("Service account not found.")
            }
            _ = try await self.tokens.revokeAll(accountID: accountID, grant: OAuthService.clientCredentials, on: connection)
            try await IdentityChanges.announce("account:\(accountID)", database: database, on: connection)
            return clientID
        }
        if !creating { self.cache.purge("account:\(accountID)") }
        return Credentials(id: accountID, clientID: clientID, clientSecret: secret)
    }

    func hash(_ secret: String) -> String {
        Identifiers.hex(Array(HMAC<SHA256>.authenticationCode(for: Data(secret.utf8), using: self.secretKey)))
    }
}
