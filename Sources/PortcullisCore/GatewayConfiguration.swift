import Foundation
public import Logging

/// How log lines are written.
public enum LogFormat: String, Sendable, CaseIterable {
    /// One human-readable line per entry.
    case text
    /// One JSON object per line (`PORTCULLIS_LOG_FORMAT=json`).
    case json
}

/// Everything `portcullis serve` needs to start, validated as a whole before anything runs.
public struct GatewayConfiguration: Sendable {
    public var host: String
    public var port: Int
    public var dataDirectory: String
    public var database: DatabaseLocation
    public var policiesDirectory: String
    public var logLevel: Logger.Level
    public var logFormat: LogFormat
    public var maxBodyBytes: Int

    public static let defaultMaxBodyBytes = 10 * 1024 * 1024

    public init(
        host: String = "127.0.0.1",
        port: Int = 8080,
        dataDirectory: String = "./data",
        database: DatabaseLocation? = nil,
        policiesDirectory: String = "./policies",
        logLevel: Logger.Level = .info,
        logFormat: LogFormat = .text,
        maxBodyBytes: Int = GatewayConfiguration.defaultMaxBodyBytes
    ) {
        self.host = host
        self.port = port
        self.dataDirectory = dataDirectory
        self.database = database ?? .sqlite(path: Self.defaultSQLitePath(dataDirectory: dataDirectory))
        self.policiesDirectory = policiesDirectory
        self.logLevel = logLevel
        self.logFormat = logFormat
        self.maxBodyBytes = maxBodyBytes
    }

    public static func defaultSQLitePath(dataDirectory: String) -> String {
        dataDirectory.hasSuffix("/") ? "\(dataDirectory)portcullis.sqlite" : "\(dataDirectory)/portcullis.sqlite"
    }
}

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
