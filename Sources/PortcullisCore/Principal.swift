public import Foundation

/// Who is calling: the account behind a verified token, with its live permissions.
public struct Principal: Sendable, Hashable {
    public enum AccountType: String, Sendable, Hashable, Codable {
        case user
        case service
    }

    public let accountID: String
    public let username: String
    public let tenant: String?
    public let type: AccountType
    /// Role ids of the account.
    public let roles: [String]
    /// The account's permissions and its roles' permissions, resolved when the token was checked.
    public let granted: Set<String>
    /// A token's narrowing (OAuth scope or OIH custom permissions): effective permissions are those
    /// granted by both. Nil means no narrowing.
    public let scope: Set<String>?
    /// The id (`jti`) of the token presented.
    public let tokenID: String
    /// `access_token` (JWT) or `persistent` (opaque service token).
    public let tokenType: String
    public let expiresAt: Date?
    public let issuedAt: Date?
    /// The delegation chain of an exchanged token: `act.sub` is the actor's account id.
    public let actor: Actor?
    /// ``granted`` and ``scope`` as decision records name them (by digest), computed once per principal:
    /// a verified token's principal is cached, so the request path does not sort and hash them again.
    public let permissionSet: PermissionSet

    /// RFC 8693 `act`: who acts on the subject's behalf, possibly itself acting for another.
    public indirect enum Actor: Sendable, Hashable, Codable {
        case actor(sub: String, act: Actor?)

        public var sub: String {
            switch self {
            case .actor(let sub, _): sub
            }
        }
    }

    public init(
        accountID: String,
        username: String,
        tenant: String?,
        type: AccountType,
        roles: [String],
        granted: Set<String>,
        scope: Set<String>?,
        tokenID: String,
        tokenType: String,
        expiresAt: Date?,
        issuedAt: Date? = nil,
        actor: Actor?
    ) {
        self.accountID = accountID
        self.username = username
        self.tenant = tenant
        self.type = type
        self.roles = roles
        self.granted = granted
        self.permissionSet = PermissionSet(granted: granted, scope: scope)
        self.scope = scope
        self.tokenID = tokenID
        self.tokenType = tokenType
        self.expiresAt = expiresAt
        self.issuedAt = issuedAt
        self.actor = actor
    }
}

extension Principal.Actor {
    private enum CodingKeys: String, CodingKey {
        case sub, act
    }

    /// Encoded as RFC 8693 §4.1 has it: `{"sub":"...","act":{"sub":"..."}}`.
    public func encode(to encoder: any Encoder) throws {
        guard case .actor(let sub, let act) = self else { return }
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(sub, forKey: .sub)
        try container.encodeIfPresent(act, forKey: .act)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self = .actor(sub: try container.decode(String.self, forKey: .sub), act: try container.decodeIfPresent(Principal.Actor.self, forKey: .act))
    }
}
