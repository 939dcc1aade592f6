public import Foundation
public import PortcullisCore
public import Storage

/// SQL for issued tokens. Every token gets a row keyed by its id (`jti`): JWTs so that they can be listed
/// and revoked, opaque tokens with the SHA-256 of the secret (never the secret itself).
public struct TokenStore: Sendable {
    let database: any Database
    let clock: WallClock

    public init(database: any Database, clock: WallClock) {
        self.clock = clock
        self.database = database
    }

    /// A stored token with what verification needs.
    struct Entry: Sendable {
        let record: TokenRecord
        let act: Principal.Actor?
        let familyID: String?
        /// When the session this token belongs to ends (nil: a persistent token that never expires): no
        /// successor (refresh, exchange) outlives it.
        let sessionEndsAt: Date?
        /// The OAuth grant that issued it (`client_credentials`, ...), when one did.
        let grant: String?

        var lineage: TokenIssuer.Lineage {
            TokenIssuer.Lineage(familyID: self.familyID, sessionEndsAt: self.sessionEndsAt, grant: self.grant)
        }
    }

    static let columns: SQLQuery =
        "id, account_id, kind, description, scope, act, family_id, created_at, expires_at, revoked_at, session_ends_at, grant_type"

    func insert(
        _ record: TokenRecord, hash: String?, act: Principal.Actor?, lineage: TokenIssuer.Lineage, on connection: (any DatabaseConnection)? = nil
    ) async throws {
        let scope = try record.scope.map { try JSONCoding.string($0) }
        let act = try act.map { try JSONCoding.string($0) }
        let session = lineage.sessionEndsAt.map(Timestamp.milliseconds)
        let query: SQLQuery = """
            INSERT INTO iam_tokens (id, account_id, kind, token_hash, description, scope, act, family_id, created_at, expires_at, revoked_at,
                                    session_ends_at, grant_type)
            VALUES (\(record.id), \(record.accountID), \(record.kind.rawValue), \(hash), \(record.description), \(scope), \(act),
                    \(lineage.familyID), \(Timestamp.milliseconds(record.createdAt)), \(record.expiresAt.map(Timestamp.milliseconds)),
                    \(SQLValue.null), \(session), \(lineage.grant))
            """
        if let connection {
            try await connection.execute(query)
        } else {
            try await self.database.execute(query)
        }
    }

    func find(id: String, on connection: (any DatabaseConnection)? = nil) async throws -> Entry? {
        let query: SQLQuery = "SELECT \(Self.columns) FROM iam_tokens WHERE id = \(id)"
        if let connection {
            return try await connection.first(query).map(Self.entry)
        }
        return try await self.database.first(query).map(Self.entry)
    }

    func find(hash: String) async throws -> Entry? {
        try await self.database.first("SELECT \(Self.columns) FROM iam_tokens WHERE token_hash = \(hash)").map(Self.entry)
    }

    /// Revokes the live tokens an account got through `grant`; returns the ids revoked.
    func revokeAll(accountID: String, grant: String, on connection: any DatabaseConnection) async throws -> [String] {
        let now = Timestamp.milliseconds(self.clock.now)
        let rows = try await connection.query(
            """
            UPDATE iam_tokens SET revoked_at = \(now)
            WHERE account_id = \(accountID) AND grant_type = \(grant) AND revoked_at IS NULL
            RETURNING id
            """
        )
        return try rows.map { try $0.string("id") }
    }

    /// Marks a token revoked; returns false when it was unknown or revoked already.
    func revoke(id: String, on connection: any DatabaseConnection) async throws -> Bool {
        let now = Timestamp.milliseconds(self.clock.now)
        return try await connection.first("UPDATE iam_tokens SET revoked_at = \(now) WHERE id = \(id) AND revoked_at IS NULL RETURNING id") != nil
    }

    /// Revokes every live token of an account, except `keeping`; returns the ids revoked.
    func revokeAll(accountID: String, keeping: String? = nil, on connection: any DatabaseConnection) async throws -> [String] {
        let now = Timestamp.milliseconds(self.clock.now)
        let rows = try await connection.query(
            """
            UPDATE iam_tokens SET revoked_at = \(now)
            WHERE account_id = \(accountID) AND revoked_at IS NULL AND id <> \(keeping ?? "")
            RETURNING id
            """
        )
        return try rows.map { try $0.string("id") }
    }

    /// Removes token rows that can never be accepted again: expired before `cutoff`, or persistent and
    /// revoked before it. Revoked tokens that have not expired stay, so that a retired refresh token shown
    /// again is still recognised as reuse. Returns how many went.
    @discardableResult
    public func prune(before cutoff: Date) async throws -> Int {
        let cutoff = Timestamp.milliseconds(cutoff)
        return try await self.database.query(
            """
            DELETE FROM iam_tokens
            WHERE (expires_at IS NOT NULL AND expires_at < \(cutoff)) OR (expires_at IS NULL AND revoked_at IS NOT NULL AND revoked_at < \(cutoff))
            RETURNING id
            """
        ).count
    }

    /// Revokes every token of a refresh family (reuse detection); returns the ids revoked.
    func revokeFamily(_ familyID: String, on connection: any DatabaseConnection) async throws -> [String] {
        let now = Timestamp.milliseconds(self.clock.now)
        let rows = try await connection.query(
            "UPDATE iam_tokens SET revoked_at = \(now) WHERE family_id = \(familyID) AND revoked_at IS NULL RETURNING id"
        )
        return try rows.map { try $0.string("id") }
    }

    public func list(accountID: String?, offset: Int, limit: Int) async throws -> (items: [TokenRecord], total: Int) {
        let filter: SQLQuery = accountID.map { " WHERE account_id = \($0)" } ?? ""
        let total = try await self.database.first("SELECT COUNT(*) AS n FROM iam_tokens\(filter)")?.int("n") ?? 0
        let rows = try await self.database.query(
            "SELECT \(Self.columns) FROM iam_tokens\(filter) ORDER BY created_at DESC, id LIMIT \(limit) OFFSET \(offset)"
        )
        return (try rows.map { try Self.entry($0).record }, Int(total))
    }

    static func entry(_ row: SQLRow) throws -> Entry {
        Entry(
            record: TokenRecord(
                id: try row.string("id"),
                accountID: try row.string("account_id"),
                kind: TokenRecord.Kind(rawValue: try row.string("kind")) ?? .access,
                description: try row.optionalString("description"),
                scope: try row.optionalString("scope").map { try JSONCoding.decode([String].self, from: $0) },
                createdAt: Timestamp.date(milliseconds: try row.int("created_at")),
                expiresAt: try row.optionalInt("expires_at").map(Timestamp.date(milliseconds:)),
                revokedAt: try row.optionalInt("revoked_at").map(Timestamp.date(milliseconds:))
            ),
            act: try row.optionalString("act").map { try JSONCoding.decode(Principal.Actor.self, from: $0) },
            familyID: try row.optionalString("family_id"),
            sessionEndsAt: try row.optionalInt("session_ends_at").map(Timestamp.date(milliseconds:)),
            grant: try row.optionalString("grant_type")
        )
    }
}
