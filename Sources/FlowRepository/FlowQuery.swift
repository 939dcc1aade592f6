/// What `GET /flows` asks for: who may see what, the filters and the order (API.md §3).
public struct FlowQuery: Sendable, Hashable {
    public enum SortKey: String, Sendable, Hashable, CaseIterable {
        case createdAt, updatedAt, name
    }

    /// Owner ids (the caller's account and tenant) whose flows are visible; nil for all (platform admins).
    public var visibleTo: [String]?
    public var status: FlowStatus?
    public var type: String?
    /// Only flows of no tenant or of this tenant (`.some(nil)`: of no tenant); nil for any tenant.
    public var tenantScope: String??
    /// Flows owned by this id, within what is visible anyway: it never widens visibility.
    public var owner: String?
    /// Case-insensitive, on name and description.
    public var search: String?
    public var sort: SortKey = .createdAt
    public var descending = false

    public init(visibleTo: [String]?) {
        self.visibleTo = visibleTo
    }
}
