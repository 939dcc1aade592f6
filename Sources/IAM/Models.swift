public import Foundation
public import PortcullisCore

/// `ACTIVE` or `DISABLED`, OIH's values; input is case-insensitive.
public enum AccountStatus: String, Sendable, Codable, Hashable {
    case active = "ACTIVE"
    case disabled = "DISABLED"

    public init?(caseInsensitive value: String) {
        self.init(rawValue: value.uppercased())
    }
}

/// An account as the API shows it (API.md §10). The password hash never leaves the store.
public struct Account: Sendable, Codable, Hashable {
    public var id: String
    public var username: String
    public var firstname: String?
    public var lastname: String?
    public var tenant: String?
    public var status: AccountStatus
    public var type: Principal.AccountType
    /// Role ids.
    public var roles: [String]
    public var permissions: [String]
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        id: String, username: String, firstname: String?, lastname: String?, tenant: String?, status: AccountStatus,
        type: Principal.AccountType, roles: [String], permissions: [String], createdAt: Date, updatedAt: Date
    ) {
        self.id = id
        self.username = username
        self.firstname = firstname
        self.lastname = lastname
        self.tenant = tenant
        self.status = status
        self.type = type
        self.roles = roles
        self.permissions = permissions
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// A tenant: `{id, name, status, createdAt, updatedAt}`.
public struct Tenant: Sendable, Codable, Hashable {
    public var id: String
    public var name: String
    public var status: AccountStatus
    public var createdAt: Date
    public var updatedAt: Date
}

/// A role: `{id, name, description, permissions[], tenant?, builtIn}`.
public struct Role: Sendable, Codable, Hashable {
    public var id: String
    public var name: String
    public var description: String
    public var permissions: [String]
    public var tenant: String?
    public var builtIn: Bool
}

/// Token metadata as listed by `/api/v1/tokens`: never the token itself.
public struct TokenRecord: Sendable, Codable, Hashable {
    public enum Kind: String, Sendable, Codable {
        /// A JWT access token.
        case access
        /// An opaque, long-lived service token (OIH's `expiresIn: -1`).
        case persistent
        /// An opaque refresh token.
        case refresh
    }

    public var id: String
    public var accountID: String
    public var kind: Kind
    public var description: String?
    public var scope: [String]?
    public var createdAt: Date
    public var expiresAt: Date?
    public var revokedAt: Date?

    /// Wire names as in the contract (`...Id`); Swift spells the acronym `ID`.
    enum CodingKeys: String, CodingKey {
        case id
        case accountID = "accountId"
        case kind
        case description
        case scope
        case createdAt
        case expiresAt
        case revokedAt
    }
}

/// Usernames are compared after trimming and case-folding, so `Alice ` and `alice` are one account.
public enum Username {
    public static func canonical(_ username: String) -> String {
        username.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
    }

    /// 1–256 characters after canonicalisation, no control characters.
    public static func isValid(_ canonical: String) -> Bool {
        (1...256).contains(canonical.count) && !canonical.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F }
    }
}
