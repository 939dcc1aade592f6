public import Foundation
import JWTKit
public import PortcullisCore
public import Storage

/// Issues tokens and records them, so that each can be listed, introspected and revoked.
public struct TokenIssuer: Sendable {
    /// Persistent service tokens: `pcs_` + 256 random bits (base64url).
    public static let persistentPrefix = "pcs_"
    /// Refresh tokens: `pcr_` + 256 random bits.
    public static let refreshPrefix = "pcr_"

    /// A freshly issued token: the secret is shown to the caller once and never stored.
    public struct Issued: Sendable {
        public let token: String
        public let record: TokenRecord
    }

    let keyRing: KeyRing
    let tokens: TokenStore
    let issuer: String
    let audience: String
    let accessTokenTTL: Duration
    let now: @Sendable () -> Date

    public init(
        keyRing: KeyRing,
        database: any Database,
        issuer: String,
        audience: String,
        accessTokenTTL: Duration,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.keyRing = keyRing
        self.tokens = TokenStore(database: database)
        self.issuer = issuer
        self.audience = audience
        self.accessTokenTTL = accessTokenTTL
        self.now = now
    }

    /// A signed JWT access token for `account`, valid for `ttl` (default: the configured lifetime).
    public func accessToken(
        for account: Account,
        ttl: Duration? = nil,
        scope: [String]? = nil,
        actor: Principal.Actor? = nil,
        description: String? = nil,
        familyID: String? = nil,
        on connection: (any DatabaseConnection)? = nil
    ) async throws -> Issued {
        let now = self.now()
        let lifetime = ttl ?? self.accessTokenTTL
        let expiresAt = now.addingTimeInterval(TimeInterval(lifetime.components.seconds))
        let record = TokenRecord(
            id: Identifiers.objectID(), accountId: account.id, kind: .access, description: description, scope: scope,
            createdAt: now, expiresAt: expiresAt, revokedAt: nil
        )
        let claims = AccessTokenClaims(
            iss: IssuerClaim(value: self.issuer),
            aud: AudienceClaim(value: [self.audience]),
            sub: SubjectClaim(value: account.id),
            exp: ExpirationClaim(value: expiresAt),
            nbf: NotBeforeClaim(value: now),
            iat: IssuedAtClaim(value: now),
            jti: IDClaim(value: record.id),
            tenant: account.tenant,
            scope: scope?.joined(separator: " "),
            act: actor
        )
        let token = try await self.keyRing.sign(claims)
        try await self.tokens.insert(record, hash: nil, act: actor, familyID: familyID, on: connection)
        return Issued(token: token, record: record)
    }

    /// An opaque refresh token of `familyID` (one family per login; reuse of a retired member revokes it).
    public func refreshToken(
        for account: Account, familyID: String, scope: [String]?, ttl: Duration = .seconds(30 * 86400),
        on connection: (any DatabaseConnection)? = nil
    ) async throws -> Issued {
        let now = self.now()
        let token = Identifiers.opaqueToken(prefix: Self.refreshPrefix)
        let record = TokenRecord(
            id: Identifiers.objectID(), accountId: account.id, kind: .refresh, description: nil, scope: scope, createdAt: now,
            expiresAt: now.addingTimeInterval(TimeInterval(ttl.components.seconds)), revokedAt: nil
        )
        try await self.tokens.insert(record, hash: Identifiers.tokenHash(token), act: nil, familyID: familyID, on: connection)
        return Issued(token: token, record: record)
    }

    /// An opaque persistent service token (OIH's `expiresIn: -1`), optionally expiring after `ttl`.
    public func persistentToken(
        for account: Account,
        ttl: Duration? = nil,
        scope: [String]? = nil,
        description: String? = nil,
        on connection: (any DatabaseConnection)? = nil
    ) async throws -> Issued {
        let now = self.now()
        let token = Identifiers.opaqueToken(prefix: Self.persistentPrefix)
        let record = TokenRecord(
            id: Identifiers.objectID(), accountId: account.id, kind: .persistent, description: description, scope: scope,
            createdAt: now, expiresAt: ttl.map { now.addingTimeInterval(TimeInterval($0.components.seconds)) }, revokedAt: nil
        )
        try await self.tokens.insert(record, hash: Identifiers.tokenHash(token), act: nil, familyID: nil, on: connection)
        return Issued(token: token, record: record)
    }
}
