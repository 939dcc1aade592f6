/// Why the policy files cannot be used; start-up stops with this line.
public struct PolicyError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file, as given (e.g. `policies/roles.yaml`).
    public let file: String
    /// The line of the entry at fault, when known.
    public let line: Int?
    /// The entry at fault (`role 'USER'`), when the file itself could be read.
    public let entry: String?
    public let reason: String

    public init(file: String, line: Int? = nil, entry: String? = nil, reason: String) {
        self.file = file
        self.line = line
        self.entry = entry
        self.reason = reason
    }

    public var description: String {
        let location = self.line.map { "\(self.file):\($0)" } ?? self.file
        if let entry {
            return "\(location): \(entry): \(self.reason)"
        }
        return "\(location): \(self.reason)"
    }
}
