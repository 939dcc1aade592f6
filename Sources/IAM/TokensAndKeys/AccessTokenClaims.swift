public import JWTKit
public import PortcullisCore

/// The claims of an access token (RFC 9068): `iss`, `aud`, `sub`, `exp`, `nbf`, `iat`, `jti`, plus
/// `tenant`, and `scope` and `act` when the token is narrowed or exchanged.
public struct AccessTokenClaims: JWTPayload, Equatable {
    public var iss: IssuerClaim
    public var aud: AudienceClaim
    public var sub: SubjectClaim
    public var exp: ExpirationClaim
    public var nbf: NotBeforeClaim
    public var iat: IssuedAtClaim
    public var jti: IDClaim
    public var tenant: String?
    /// Space-separated permissions the token is narrowed to (RFC 8693 / OAuth `scope`).
    public var scope: String?
    public var act: Principal.Actor?

    /// Claims are checked by ``TokenVerifier`` with the configured leeway and clock, not here.
    public func verify(using algorithm: some JWTAlgorithm) async throws {}
}
