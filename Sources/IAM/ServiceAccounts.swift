import Crypto
import Foundation
import Messaging
public import Policy
public import PortcullisCore
import Storage

/// Service accounts: accounts of type `service` with a client id and a secret for the `client_credentials`
/// grant. The secret is shown once and stored as an HMAC-SHA256 under a key derived from the master key,
/// so a copy of the database alone does not allow offline guessing.
public struct ServiceAccounts: Sendable {
    /// What the caller sees once, at creation or rotation.
    public struct Credentials: Sendable, Encodable {
        public let id: String
        public let clientId: String
        public let clientSecret: String
    }

    let identity: Identity
    let administration: AccountAdministration
    let secretKey: SymmetricKey

    public init(identity: Identity, administration: AccountAdministration, masterKey: MasterKey) {
        self.identity = identity
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
        return try await self.issueSecret(for: account.id, creating: true)
    }

    /// A new secret for the service account; the old one stops working at once, and so do the access tokens
    /// issued with it (`client_credentials`). Needs the update permission over the account and the ceiling:
    /// a new secret is the account's whole power.
    public func rotate(_ id: String, by caller: Principal, decisions: any ResourceDecisionRecorder) async throws -> Credentials {
        let account = try await self.serviceAccount(id, by: caller, action: "update", decisions: decisions)
        try await self.administration.grants.requireCeiling(caller, over: account, decisions: decisions)
        let credentials = try await self.issueSecret(for: account.id, creating: false)
        try await self.identity.revokeClientCredentialTokens(accountID: account.id)
        return credentials
    }

    public func list(by caller: Principal, offset: Int, limit: Int) async throws -> (items: [Account], total: Int) {
        guard let filter = self.administration.scope(of: caller, action: "read").listFilter else {
            throw IAMError.forbidden("Missing permission iam.account.read")
        }
        return try await self.identity.accounts.list(tenant: filter, type: .service, offset: offset, limit: limit)
    }

    public func get(_ id: String, by caller: Principal, decisions: any ResourceDecisionRecorder) async throws -> Account {
        try await self.serviceAccount(id, by: caller, action: "read", decisions: decisions)
    }

    /// Deletes the service account with its secret, after the delete check and the ceiling.
    public func delete(_ id: String, by caller: Principal, decisions: any ResourceDecisionRecorder, requestID: String?) async throws {
        guard let account = try await self.identity.accounts.find(id: id), account.type == .service else {
            throw IAMError.notFound("Service account not found.")
        }
        try await self.administration.delete(account.id, by: caller, decisions: decisions, requestID: requestID)
    }

    /// The account of `clientID` when `secret` is its current secret (compared in constant time) and it may
    /// act: active, in an enabled tenant.
    public func authenticate(clientID: String, secret: String) async throws -> Account? {
        guard
            let row = try await self.identity.database.first("SELECT account_id, secret_hash FROM iam_service_clients WHERE client_id = \(clientID)")
        else { return nil }
        let expected = try row.string("secret_hash")
        guard Hex.constantTimeEquals(self.hash(secret), expected) else { return nil }
        guard let account = try await self.identity.accounts.find(id: try row.string("account_id")),
            try await self.identity.accounts.isEnabled(account)
        else { return nil }
        return account
    }

    /// A service account the caller may `action` (recorded); anything else is 404.
    private func serviceAccount(_ id: String, by caller: Principal, action: String, decisions: any ResourceDecisionRecorder) async throws -> Account {
        guard let account = try await self.identity.accounts.find(id: id), account.type == .service,
            try await self.administration.check(caller, action, account, decisions)
        else { throw IAMError.notFound("Service account not found.") }
        return account
    }

    private func issueSecret(for accountID: String, creating: Bool) async throws -> Credentials {
        let secret = Identifiers.opaqueToken(prefix: "pcc_")
        let now = Timestamp.milliseconds(Date())
        let clientID: String
        if creating {
            clientID = "sa_" + Identifiers.objectID()
            try await self.identity.database.execute(
                """
                INSERT INTO iam_service_clients (client_id, account_id, secret_hash, created_at, rotated_at)
                VALUES (\(clientID), \(accountID), \(self.hash(secret)), \(now), \(now))
                """
            )
        } else {
            guard
                let row = try await self.identity.database.first(
                    "UPDATE iam_service_clients SET secret_hash = \(self.hash(secret)), rotated_at = \(now) WHERE account_id = \(accountID) RETURNING client_id"
                )
            else { throw IAMError.notFound("Service account not found.") }
            clientID = try row.string("client_id")
        }
        return Credentials(id: accountID, clientId: clientID, clientSecret: secret)
    }

    func hash(_ secret: String) -> String {
        Identifiers.hex(Array(HMAC<SHA256>.authenticationCode(for: Data(secret.utf8), using: self.secretKey)))
    }
}
