import Foundation
public import Logging

/// What a password must be: long enough, and short enough for bcrypt (which reads 72 bytes).
public struct PasswordPolicy: Sendable, Equatable {
    public static let maximumBytes = 72
    public var minimumLength: Int

    public init(minimumLength: Int = 12) {
        self.minimumLength = minimumLength
    }

    /// The problem with `password`, or nil when it is acceptable.
    public func problem(with password: String) -> String? {
        if password.utf8.contains(0) {
            // bcrypt stops reading at a NUL byte: everything after it would not count.
            return "Passwords must not contain a NUL character."
        }
        if password.count < self.minimumLength {
            return "Passwords need at least \(self.minimumLength) characters."
        }
        if password.utf8.count > Self.maximumBytes {
            return "Passwords may have at most \(Self.maximumBytes) bytes."
        }
        return nil
    }
}
