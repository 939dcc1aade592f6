/// Why the policy files cannot be used; start-up stops with this line.
public struct PolicyError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file, as given (e.g. `policies/roles.yaml`).
    public let file: String
    /// The entry at fault (`role 'USER'`), when the file itself could be read.
    public let entry: String?
    public let reason: String

    public init(file: String, entry: String? = nil, reason: String) {
        self.file = file
        self.entry = entry
        self.reason = reason
    }

    public var description: String {
        if let entry {
            return "\(self.file): \(entry): \(self.reason)"
        }
        return "\(self.file): \(self.reason)"
    }
}
