/// What other modules may learn about an account without importing the identity module: whether it
/// exists, its tenant and its type. The identity module provides it (``ModuleCapabilities``).
public protocol AccountDirectory: Sendable {
    /// The account with `id`, or nil when there is none.
    func account(_ id: String) async throws -> AccountSummary?
}

/// An account as other modules see it.
public struct AccountSummary: Sendable, Hashable {
    public let id: String
    /// Nil for platform accounts.
    public let tenant: String?
    /// `user` or `service`.
    public let type: String
    public let active: Bool

    public init(id: String, tenant: String?, type: String, active: Bool) {
        self.id = id
        self.tenant = tenant
        self.type = type
        self.active = active
    }
}
