/// One versioned schema change. Each module owns the migrations of its own tables.
///
/// `id` is unique and stable forever (`"messaging.0001"`); statements may differ by dialect.
public struct Migration: Sendable {
    public let id: String
    public let statements: @Sendable (SQLDialect) -> [String]

    public init(id: String, statements: @escaping @Sendable (SQLDialect) -> [String]) {
        self.id = id
        self.statements = statements
    }

    /// A migration whose statements are the same on both backends.
    public init(id: String, _ statements: [String]) {
        self.id = id
        self.statements = { _ in statements }
    }
}
