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

    /// Where a token comes from: the refresh family it belongs to, the start of the session it extends (nil:
    /// a new session starts now), and the OAuth grant that issued it.
    public struct Lineage: Sendable {
        public var familyID: String?
        public var sessionStartedAt: Date?
        public var grant: String?

        public init(familyID: String? = nil, sessionStartedAt: Date? = nil, grant: String? = nil) {
            self.familyID = familyID
            self.sessionStartedAt = sessionStartedAt
            self.grant = grant
        }
    }

    let keyRing: KeyRing
    let tokens: TokenStore
    let issuer: String
    let audience: String
    let accessTokenTTL: Duration
    /// The longest a session (a login and every refresh after it) may last (`PORTCULLIS_SESSION_MAX`).
    let sessionMax: Duration
    let now: @Sendable () -> Date

    public init(
        keyRing: KeyRing,
        database: any Database,
        issuer: String,
        audience: String,
        accessTokenTTL: Duration,
        sessionMax: Duration = .seconds(12 * 3600),
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.keyRing = keyRing
        self.tokens = TokenStore(database: database)
        self.issuer = issuer
        self.audience = audience
        self.accessTokenTTL = accessTokenTTL
        self.sessionMax = sessionMax
        self.now = now
    }

    /// When the session that began at `start` ends.
    func sessionEnd(_ start: Date) -> Date {
        start.addingTimeInterval(TimeInterval(self.sessionMax.components.seconds))
    }

    /// `now + lifetime`, but never past the end of the session; ``IAMError/sessionExpired`` once it ended.
    func expiry(_ lifetime: Duration, now: Date, lineage: Lineage) throws -> Date {
        let wanted = now.addingTimeInterval(TimeInterval(lifetime.components.seconds))
        let end = self.sessionEnd(lineage.sessionStartedAt ?? now)
        guard end > now else { throw IAMError.sessionExpired }
        return min(wanted, end)
    }

    /// A signed JWT access token for `account`, valid for `ttl` (default: the configured lifetime) and never
    /// past the end of its session.
    public func accessToken(
        for account: Account,
        ttl: Duration? = nil,
        scope: [String]? = nil,
        actor: Principal.Actor? = nil,
        description: String? = nil,
        lineage: Lineage = Lineage(),
        on connection: (any DatabaseConnection)? = nil
    ) async throws -> Issued {
        let now = self.now()
        let expiresAt = try self.expiry(ttl ?? self.accessTokenTTL, now: now, lineage: lineage)
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
        try await self.tokens.insert(record, hash: nil, act: actor, lineage: lineage, on: connection)
        return Issued(token: token, record: record)
    }

    /// An opaque refresh token of `lineage.familyID` (one family per login; reuse of a retired member revokes
    /// it), valid for `ttl` but never past the end of its session.
    public func refreshToken(
        for account: Account, scope: [String]?, ttl: Duration = .seconds(30 * 86400), lineage: Lineage,
        on connection: (any DatabaseConnection)? = nil
    ) async throws -> Issued {
        let now = self.now()
        let token = Identifiers.opaqueToken(prefix: Self.refreshPrefix)
        let record = TokenRecord(
            id: Identifiers.objectID(), accountId: account.id, kind: .refresh, description: nil, scope: scope, createdAt: now,
            expiresAt: try self.expiry(ttl, now: now, lineage: lineage), revokedAt: nil
        )
        try await self.tokens.insert(record, hash: Identifiers.tokenHash(token), act: nil, lineage: lineage, on: connection)
        return Issued(token: token, record: record)
    }

    /// An opaque persistent service token (OIH's `expiresIn: -1`), expiring at `expiresAt` when given.
    /// Persistent tokens are not sessions: they live as long as their grant said, and no longer.
    public func persistentToken(
        for account: Account,
        expiresAt: Date? = nil,
        scope: [String]? = nil,
        description: String? = nil,
        lineage: Lineage = Lineage(),
        on connection: (any DatabaseConnection)? = nil
    ) async throws -> Issued {
        let now = self.now()
        let token = Identifiers.opaqueToken(prefix: Self.persistentPrefix)
        let record = TokenRecord(
            id: Identifiers.objectID(), accountId: account.id, kind: .persistent, description: description, scope: scope,
            createdAt: now, expiresAt: expiresAt, revokedAt: nil
        )
        try await self.tokens.insert(record, hash: Identifiers.tokenHash(token), act: nil, lineage: lineage, on: connection)
        return Issued(token: token, record: record)
    }
}
