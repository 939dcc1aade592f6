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
        /// The lineage it was stored with, its session's end filled in.
        public let lineage: Lineage
    }

    /// Where a token comes from: the refresh family it belongs to, when the session it extends ends (nil: a
    /// new session starts now and lasts `PORTCULLIS_SESSION_MAX`), and the OAuth grant that issued it. A
    /// successor (refresh, exchange) inherits its predecessor's lineage, so nothing outlives its grant, a
    /// logout ends the whole family, and a secret rotation reaches what the secret obtained.
    public struct Lineage: Sendable {
        public var familyID: String?
        public var sessionEndsAt: Date?
        public var grant: String?

        public init(familyID: String? = nil, sessionEndsAt: Date? = nil, grant: String? = nil) {
            self.familyID = familyID
            self.sessionEndsAt = sessionEndsAt
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
    let clock: WallClock

    public init(
        keyRing: KeyRing,
        tokens: TokenStore,
        issuer: String,
        audience: String,
        accessTokenTTL: Duration,
        sessionMax: Duration = .seconds(12 * 3600),
        clock: WallClock
    ) {
        self.keyRing = keyRing
        self.tokens = tokens
        self.issuer = issuer
        self.audience = audience
        self.accessTokenTTL = accessTokenTTL
        self.sessionMax = sessionMax
        self.clock = clock
    }

    /// The lineage a token is stored with: its session's end filled in (a new session ends `sessionMax`
    /// from now), or ``IAMError/sessionExpired`` once that end has passed.
    func session(_ lineage: Lineage, now: Date) throws -> Lineage {
        var lineage = lineage
        let end = lineage.sessionEndsAt ?? now.addingTimeInterval(TimeInterval(self.sessionMax.components.seconds))
        guard end > now else { throw IAMError.sessionExpired }
        lineage.sessionEndsAt = end
        return lineage
    }

    /// `now + lifetime`, but never past the end of the session.
    func expiry(_ lifetime: Duration, now: Date, session: Lineage) -> Date {
        min(now.addingTimeInterval(TimeInterval(lifetime.components.seconds)), session.sessionEndsAt ?? .distantFuture)
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
        let now = self.clock.now
        let lineage = try self.session(lineage, now: now)
        let expiresAt = self.expiry(ttl ?? self.accessTokenTTL, now: now, session: lineage)
        let record = TokenRecord(
            id: Identifiers.objectID(), accountID: account.id, kind: .access, description: description, scope: scope,
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
        return Issued(token: token, record: record, lineage: lineage)
    }

    /// An opaque refresh token of `lineage.familyID` (one family per login; reuse of a retired member revokes
    /// it), valid for `ttl` but never past the end of its session.
    public func refreshToken(
        for account: Account, scope: [String]?, ttl: Duration = .seconds(30 * 86400), lineage: Lineage,
        on connection: (any DatabaseConnection)? = nil
    ) async throws -> Issued {
        let now = self.clock.now
        let lineage = try self.session(lineage, now: now)
        let token = Identifiers.opaqueToken(prefix: Self.refreshPrefix)
        let record = TokenRecord(
            id: Identifiers.objectID(), accountID: account.id, kind: .refresh, description: nil, scope: scope, createdAt: now,
            expiresAt: self.expiry(ttl, now: now, session: lineage), revokedAt: nil
        )
        try await self.tokens.insert(record, hash: Identifiers.tokenHash(token), act: nil, lineage: lineage, on: connection)
        return Issued(token: token, record: record, lineage: lineage)
    }

    /// An opaque persistent service token (OIH's `expiresIn: -1`), expiring at `expiresAt` when given.
    /// Persistent tokens are not sessions: they live as long as their grant said, and no longer (their
    /// lineage's session ends when they do, which is what a token exchanged from one inherits).
    public func persistentToken(
        for account: Account,
        expiresAt: Date? = nil,
        scope: [String]? = nil,
        description: String? = nil,
        lineage: Lineage = Lineage(),
        on connection: (any DatabaseConnection)? = nil
    ) async throws -> Issued {
        let now = self.clock.now
        let token = Identifiers.opaqueToken(prefix: Self.persistentPrefix)
        let record = TokenRecord(
            id: Identifiers.objectID(), accountID: account.id, kind: .persistent, description: description, scope: scope,
            createdAt: now, expiresAt: expiresAt, revokedAt: nil
        )
        var lineage = lineage
        lineage.sessionEndsAt = expiresAt
        try await self.tokens.insert(record, hash: Identifiers.tokenHash(token), act: nil, lineage: lineage, on: connection)
        return Issued(token: token, record: record, lineage: lineage)
    }
}
