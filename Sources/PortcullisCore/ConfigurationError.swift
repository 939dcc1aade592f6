import Foundation
public import Logging

/// A configuration value that cannot be used. Its description is the one line printed before exit status 2.
public struct ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The environment variable (or `--flag`) that holds the bad value.
    public let setting: String
    public let problem: String

    public init(setting: String, problem: String) {
        self.setting = setting
        self.problem = problem
    }

    public var description: String { "invalid \(self.setting): \(self.problem)" }
}
