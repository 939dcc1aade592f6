import Synchronization

/// The policy set in force, replaced atomically on reload.
///
/// A reload reads and validates every file first; a set with any error is refused and the one in force
/// stays, so a bad edit never leaves the gateway without policies.
public final class PolicyStore: Sendable {
    public let directory: String
    private let state: Mutex<PolicySet>

    public init(directory: String, initial: PolicySet) {
        self.directory = directory
        self.state = Mutex(initial)
    }

    /// Loads the directory and validates it; throws ``PolicyError`` when invalid.
    public convenience init(directory: String) throws(PolicyError) {
        self.init(directory: directory, initial: try PolicySet.load(directory: directory))
    }

    public var current: PolicySet {
        self.state.withLock { $0 }
    }

    /// Reads the directory again and puts the new set in force.
    ///
    /// - Returns: the set now in force.
    /// - Throws: ``PolicyError`` when the files are invalid; the previous set then stays in force.
    @discardableResult
    public func reload() throws(PolicyError) -> PolicySet {
        let loaded = try PolicySet.load(directory: self.directory)
        self.state.withLock { $0 = loaded }
        return loaded
    }
}
