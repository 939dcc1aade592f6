public import Foundation
public import PortcullisCore

/// A tenant: `{id, name, status, createdAt, updatedAt}`.
public struct Tenant: Sendable, Codable, Hashable {
    public var id: String
    public var name: String
    public var status: AccountStatus
    public var createdAt: Date
    public var updatedAt: Date
}
