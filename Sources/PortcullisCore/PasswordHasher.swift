/// Hashes and checks passwords. Implementations must be slow on purpose and run off the event loops.
public protocol PasswordHasher: Sendable {
    func hash(_ password: String) async throws -> String
    func verify(_ password: String, against hash: String) async throws -> Bool
    /// Whether `hash` was made with weaker parameters than the current ones (rehash on the next login).
    func needsRehash(_ hash: String) -> Bool
    /// Whether a hash asked for now would be refused as busy: checked before any other work of a login, so
    /// that a flood is shed at the door without touching the database.
    var isSaturated: Bool { get }
}

extension PasswordHasher {
    public var isSaturated: Bool { false }
}
