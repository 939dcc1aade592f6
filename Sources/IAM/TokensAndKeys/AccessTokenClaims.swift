import Foundation
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

extension AccessTokenClaims {
    enum CodingKeys: String, CodingKey, CaseIterable {
        case iss, aud, sub, exp, nbf, iat, jti, tenant, scope, act
    }

    /// Reads the claims as plain strings and numbers, then wraps them in jwt-kit's claim types.
    ///
    /// The same as the synthesised decoding with jwt-kit's `defaultForJWT` decoder, without its detours:
    /// each claim type decoded through a container of its own, and `AudienceClaim` turning a single string
    /// into its array through a decoder of its own (README, Performance). Dates are RFC 7519 NumericDates,
    /// seconds since 1970 as a JSON number, whatever the decoder's date strategy. `aud` may be one string
    /// or an array of strings (§4.1.3).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.iss = IssuerClaim(value: try container.decode(String.self, forKey: .iss))
        self.aud = AudienceClaim(value: try container.decode(Audience.self, forKey: .aud).values)
        self.sub = SubjectClaim(value: try container.decode(String.self, forKey: .sub))
        self.exp = ExpirationClaim(value: Date(timeIntervalSince1970: try container.decode(Double.self, forKey: .exp)))
        self.nbf = NotBeforeClaim(value: Date(timeIntervalSince1970: try container.decode(Double.self, forKey: .nbf)))
        self.iat = IssuedAtClaim(value: Date(timeIntervalSince1970: try container.decode(Double.self, forKey: .iat)))
        self.jti = IDClaim(value: try container.decode(String.self, forKey: .jti))
        self.tenant = try container.decodeIfPresent(String.self, forKey: .tenant)
        self.scope = try container.decodeIfPresent(String.self, forKey: .scope)
        self.act = try container.decodeIfPresent(Principal.Actor.self, forKey: .act)
    }

    /// `aud` as RFC 7519 §4.1.3 allows it: one string, or an array of strings.
    private struct Audience: Decodable {
        let values: [String]

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let one = try? container.decode(String.self) {
                self.values = [one]
            } else {
                self.values = try container.decode([String].self)
            }
        }
    }
}
