public import Foundation
public import PortcullisCore

/// A role: `{id, name, description, permissions[], tenant?, builtIn}`.
public struct Role: Sendable, Codable, Hashable {
    public var id: String
    public var name: String
    public var description: String
    public var permissions: [String]
    public var tenant: String?
    public var builtIn: Bool
}
