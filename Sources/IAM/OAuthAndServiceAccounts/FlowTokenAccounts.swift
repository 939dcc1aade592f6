import Foundation
import GatewayKit
import PortcullisCore
import Storage

/// ``FlowCredentials`` on the identity module's tables: each running flow gets a service account of the
/// flow's tenant that holds `queues.consume` and nothing else, linked to the flow in `iam_flow_accounts`.
///
/// The account's username carries a random part, so nobody can squat it by creating a user of the
/// predictable name before the flow starts.
struct FlowTokenAccounts: FlowCredentials {
    static let permission = "queues.consume"

    let database: any Database
    let accounts: AccountStore
    let tenants: TenantStore
    let tokens: TokenStore
    let clients: ServiceClientStore
    let cache: PrincipalCache
    let serviceAccounts: ServiceAccounts
    let clock: WallClock

    func provision(flowID: String, tenant: String?) async throws -> FlowCredential {
        if let existing = try await self.credential(flowID: flowID, on: nil) { return existing }
        if let tenant {
            guard let found = try await self.tenants.find(id: tenant), found.status == .active else {
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
        do {
            try await self.database.transaction { connection in
                try await connection.execute(
                    """
                    INSERT INTO iam_flow_accounts (flow_id, account_id, created_at)
                    VALUES (\(flowID), \(account.id), \(Timestamp.milliseconds(now)))
                    """
                )
                try await self.accounts.insert(account, passwordHash: nil, on: connection)
                try await self.clients.insert(clientID: clientID, accountID: account.id, secretHash: hash, on: connection)
            }
        } catch StorageError.uniqueViolation {
            // Another replica provisioned the same flow at the same moment: its account is the flow's.
            if let existing = try await self.credential(flowID: flowID, on: nil) { return existing }
            throw StorageError.uniqueViolation("iam_flow_accounts")
        }
        return FlowCredential(accountID: account.id, clientID: clientID)
    }

    func rotateSecret(flowID: String) async throws -> FlowSecret? {
        let secret = Identifiers.opaqueToken(prefix: "pcc_")
        let hash = self.serviceAccounts.hash(secret)
        let database = self.database
        let rotated: (accountID: String, clientID: String)? = try await database.transaction { connection in
            guard let accountID = try await self.accountID(flowID: flowID, on: connection),
                let clientID = try await self.clients.rotate(accountID: accountID, secretHash: hash, on: connection)
            else { return nil }
            // Tokens obtained with the old secret end with it.
            _ = try await self.tokens.revokeAll(accountID: accountID, grant: OAuthService.clientCredentials, on: connection)
            try await IdentityChanges.announce("account:\(accountID)", database: database, on: connection)
            return (accountID, clientID)
        }
        guard let rotated else { return nil }
        self.cache.purge("account:\(rotated.accountID)")
        return FlowSecret(clientID: rotated.clientID, clientSecret: secret)
    }

    func revoke(flowID: String) async throws {
        let database = self.database
        let accountID: String? = try await database.transaction { connection in
            guard let accountID = try await self.accountID(flowID: flowID, on: connection) else { return nil }
            _ = try await self.tokens.revokeAll(accountID: accountID, on: connection)
            try await self.clients.delete(accountID: accountID, on: connection)
            try await self.accounts.delete(id: accountID, on: connection)
            try await connection.execute("DELETE FROM iam_flow_accounts WHERE flow_id = \(flowID)")
            try await IdentityChanges.announce("account:\(accountID)", database: database, on: connection)
            return accountID
        }
        if let accountID { self.cache.purge("account:\(accountID)") }
    }

    private func accountID(flowID: String, on connection: any DatabaseConnection) async throws -> String? {
        try await connection.first("SELECT account_id FROM iam_flow_accounts WHERE flow_id = \(flowID)").map { try $0.string("account_id") }
    }

    private func credential(flowID: String, on connection: (any DatabaseConnection)?) async throws -> FlowCredential? {
        let query: SQLQuery = """
            SELECT f.account_id, c.client_id FROM iam_flow_accounts f JOIN iam_service_clients c ON c.account_id = f.account_id
            WHERE f.flow_id = \(flowID)
            """
        let found: SQLRow? = if let connection { try await connection.first(query) } else { try await self.database.first(query) }
        guard let row = found else { return nil }
        return FlowCredential(accountID: try row.string("account_id"), clientID: try row.string("client_id"))
    }
}
