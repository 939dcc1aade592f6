/// A built-in role from `policies/roles.yaml`.
public struct RoleDefinition: Sendable, Hashable, Codable {
    public let name: String
    public let description: String
    public let permissions: [String]

    public init(name: String, description: String, permissions: [String]) {
        self.name = name
        self.description = description
        self.permissions = permissions
    }
}
