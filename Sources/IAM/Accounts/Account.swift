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
