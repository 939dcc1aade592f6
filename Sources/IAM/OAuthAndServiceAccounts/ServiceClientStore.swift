public import PortcullisCore
public import Storage

/// SQL for the OAuth clients of service accounts: one client id per account, with the HMAC of its current
/// secret (never the secret itself).
public struct ServiceClientStore: Sendable {
    let database: any Database
    let clock: WallClock

    public init(database: any Database, clock: WallClock) {
        self.database = database
        self.clock = clock
    }

    /// The account and secret hash of `clientID`, or nil when there is no such client.
    func find(clientID: String) async throws -> (accountID: String, secretHash: String)? {
        guard let row = try await self.database.first("SELECT account_id, secret_hash FROM iam_service_clients WHERE client_id = \(clientID)")
        else { return nil }
        return (try row.string("account_id"), try row.string("secret_hash"))
    }

    /// Holds the client's lock (`KeyedLock.serviceClient`) exclusively until the transaction ends: grants under
    /// its secret hold it shared and wait behind this once it is asked for, so grants that never pause
    /// cannot hold a rotation or a flow's stop off (a row's `FOR SHARE` would let them pass it). Take it
    /// before any lock a grant waits for (the account's row): first in the transaction.
    static func holdExclusively(accountID: String, on connection: any DatabaseConnection) async throws {
        try await connection.hold(.serviceClient, key: accountID, mode: .exclusive)
    }

    /// The secret hash of `clientID`, holding its row (shared, on PostgreSQL) until the transaction ends.
    func secretHash(clientID: String, holdingOn connection: any DatabaseConnection) async throws -> String? {
        let lock: SQLQuery = connection.dialect == .postgres ? " FOR SHARE" : ""
        return try await connection.first("SELECT secret_hash FROM iam_service_clients WHERE client_id = \(clientID)\(lock)")
            .map { try $0.string("secret_hash") }
    }

    /// The client id of a service account, or nil for any other account.
    func clientID(accountID: String) async throws -> String? {
        try await self.database.first("SELECT client_id FROM iam_service_clients WHERE account_id = \(accountID)").map { try $0.string("client_id") }
    }

    func insert(clientID: String, accountID: String, secretHash: String, on connection: any DatabaseConnection) async throws {
        let now = Timestamp.milliseconds(self.clock.now)
        try await connection.execute(
            """
            INSERT INTO iam_service_clients (client_id, account_id, secret_hash, created_at, rotated_at)
            VALUES (\(clientID), \(accountID), \(secretHash), \(now), \(now))
            """
        )
    }

    /// Replaces the account's secret hash; returns its client id, nil when the account has no client. The
    /// caller holds the client's lock already (``holdExclusively(accountID:on:)``).
    func rotate(accountID: String, secretHash: String, on connection: any DatabaseConnection) async throws -> String? {
        let now = Timestamp.milliseconds(self.clock.now)
        return try await connection.first(
            "UPDATE iam_service_clients SET secret_hash = \(secretHash), rotated_at = \(now) WHERE account_id = \(accountID) RETURNING client_id"
        ).map { try $0.string("client_id") }
    }

    /// Deletes the account's client. The caller holds the client's lock already (``holdExclusively(accountID:on:)``).
    func delete(accountID: String, on connection: any DatabaseConnection) async throws {
        try await connection.execute("DELETE FROM iam_service_clients WHERE account_id = \(accountID)")
    }
}
