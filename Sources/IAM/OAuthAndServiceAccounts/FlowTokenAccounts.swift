import Foundation
import GatewayKit
import PortcullisCore
import Storage

/// ``FlowCredentials`` on the identity module's tables: each running flow gets a service account of the
/// flow's tenant that holds `queues.consume` and nothing else, linked to the flow in `iam_flow_accounts`.
///
/// The account's username carries a random part, so nobody can squat it by creating a user of the
/// predictable name before the flow starts. Every operation runs on the caller's transaction; the change
/// notice it sends reaches every replica's principal cache when that transaction commits.
struct FlowTokenAccounts: FlowCredentials {
    static let permission = "queues.consume"

    let database: any Database
    let accounts: AccountStore
    let tenants: TenantStore
    let tokens: TokenStore
    let clients: ServiceClientStore
    let serviceAccounts: ServiceAccounts
    let clock: WallClock

    func provision(flowID: String, tenant: String?, on connection: any DatabaseConnection) async throws -> FlowCredential {
        if let existing = try await Self.credential(flowID: flowID, on: connection) { return existing }
        if let tenant {
            guard let found = try await self.tenants.find(id: tenant, on: connection), found.status == .active else {
                throw FlowCredentialsRefused(reason: "The flow's tenant does not exist or is disabled.")
            }
        }
        let now = self.clock.now
        let account = Account(
            id: Identifiers.objectID(), username: "flow:\(flowID):\(Identifiers.objectID())", firstname: nil, lastname: nil, tenant: tenant,
            status: .active, type: .service, roles: [], permissions: [Self.permission], createdAt: now, updatedAt: now)
        let clientID = "sa_" + Identifiers.objectID()
        // Nobody sees this first secret: owners get one through a rotation (`POST /flows/{id}/credentials`).
        let hash = self.serviceAccounts.hash(Identifiers.opaqueToken(prefix: "pcc_"))
        try await connection.execute(
            "INSERT INTO iam_flow_accounts (flow_id, account_id, created_at) VALUES (\(flowID), \(account.id), \(Timestamp.milliseconds(now)))")
        try await self.accounts.insert(account, passwordHash: nil, on: connection)
        try await self.clients.insert(clientID: clientID, accountID: account.id, secretHash: hash, on: connection)
        return FlowCredential(accountID: account.id, clientID: clientID)
    }

    func rotateSecret(flowID: String, on connection: any DatabaseConnection) async throws -> FlowSecret? {
        let secret = Identifiers.opaqueToken(prefix: "pcc_")
        guard let accountID = try await Self.accountID(flowID: flowID, on: connection) else { return nil }
        try await ServiceClientStore.holdExclusively(accountID: accountID, on: connection)
        guard let clientID = try await self.clients.rotate(accountID: accountID, secretHash: self.serviceAccounts.hash(secret), on: connection)
        else { return nil }
        // Tokens obtained with the old secret end with it.
        _ = try await self.tokens.revokeAll(accountID: accountID, grant: OAuthService.clientCredentials, on: connection)
        try await IdentityChanges.announce("account:\(accountID)", database: self.database, on: connection)
        return FlowSecret(clientID: clientID, clientSecret: secret)
    }

    @discardableResult
    func revoke(flowID: String, on connection: any DatabaseConnection) async throws -> FlowCredential? {
        guard let credential = try await Self.credential(flowID: flowID, on: connection) else {
            try await connection.execute("DELETE FROM iam_flow_accounts WHERE flow_id = \(flowID)")
            return nil
        }
        // The client's lock before the revocation, so that a grant under way finishes first and its token is
        // revoked with the others (the flow's locks, held by the caller, are none a grant takes).
        try await ServiceClientStore.holdExclusively(accountID: credential.accountID, on: connection)
        // Then the account's row, before its tokens: the order in which a tenant's deletion takes them (it
        // disables its accounts, then revokes their tokens), or the two could deadlock.
        _ = try await self.accounts.version(id: credential.accountID, holdingOn: connection)
        _ = try await self.tokens.revokeAll(accountID: credential.accountID, on: connection)
        try await self.clients.delete(accountID: credential.accountID, on: connection)
        try await self.accounts.delete(id: credential.accountID, on: connection)
        try await connection.execute("DELETE FROM iam_flow_accounts WHERE flow_id = \(flowID)")
        try await IdentityChanges.announce("account:\(credential.accountID)", database: self.database, on: connection)
        return credential
    }

    /// Whether `accountID` is a flow's token account, which only its flow manages.
    static func isFlowAccount(_ accountID: String, database: any Database) async throws -> Bool {
        try await database.first("SELECT flow_id FROM iam_flow_accounts WHERE account_id = \(accountID)") != nil
    }

    private static func accountID(flowID: String, on connection: any DatabaseConnection) async throws -> String? {
        try await connection.first("SELECT account_id FROM iam_flow_accounts WHERE flow_id = \(flowID)").map { try $0.string("account_id") }
    }

    private static func credential(flowID: String, on connection: any DatabaseConnection) async throws -> FlowCredential? {
        guard
            let row = try await connection.first(
                """
                SELECT f.account_id, c.client_id FROM iam_flow_accounts f JOIN iam_service_clients c ON c.account_id = f.account_id
                WHERE f.flow_id = \(flowID)
                """
            )
        else { return nil }
        return FlowCredential(accountID: try row.string("account_id"), clientID: try row.string("client_id"))
    }
}
