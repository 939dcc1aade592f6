public import Foundation
public import PortcullisCore

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
