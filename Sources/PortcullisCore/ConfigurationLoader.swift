import Logging

/// Builds a ``GatewayConfiguration`` from the environment and command-line flags (flags win).
///
/// Empty values count as unset. Every value is checked; the first bad one is reported by name.
public struct ConfigurationLoader: Sendable {
    /// One configurable setting: its environment variable and its command-line flag.
    public struct Setting: Sendable, Hashable {
        public let variable: String
        public let flag: String

        public static let host = Setting(variable: "PORTCULLIS_HOST", flag: "--host")
        public static let port = Setting(variable: "PORTCULLIS_PORT", flag: "--port")
        public static let dataDirectory = Setting(variable: "PORTCULLIS_DATA_DIR", flag: "--data-dir")
        public static let databaseURL = Setting(variable: "DATABASE_URL", flag: "--database-url")
        public static let policies = Setting(variable: "PORTCULLIS_POLICIES", flag: "--policies")
        public static let logLevel = Setting(variable: "PORTCULLIS_LOG_LEVEL", flag: "--log-level")
        public static let logFormat = Setting(variable: "PORTCULLIS_LOG_FORMAT", flag: "--log-format")
        public static let maxBodyBytes = Setting(variable: "PORTCULLIS_MAX_BODY_BYTES", flag: "--max-body-bytes")

        public static let all: [Setting] = [.host, .port, .dataDirectory, .databaseURL, .policies, .logLevel, .logFormat, .maxBodyBytes]
    }

    public let environment: [String: String]
    public let flags: [Setting: String]

    public init(environment: [String: String], flags: [Setting: String] = [:]) {
        self.environment = environment
        self.flags = flags
    }

    public func load() throws(ConfigurationError) -> GatewayConfiguration {
        var configuration = GatewayConfiguration()

        if let (value, name) = self.value(.host) {
            guard value.allSatisfy({ !$0.isWhitespace }) else {
                throw ConfigurationError(setting: name, problem: "\"\(value)\" is not a host name or address")
            }
            configuration.host = value
        }
        if let (value, name) = self.value(.port) {
            guard let port = Int(value), (0...65535).contains(port) else {
                throw ConfigurationError(setting: name, problem: "\"\(value)\" is not a port number from 0 to 65535")
            }
            configuration.port = port
        }
        if let (value, _) = self.value(.dataDirectory) {
            configuration.dataDirectory = value
        }
        if let (value, name) = self.value(.databaseURL) {
            do {
                configuration.database = .postgres(try PostgresEndpoint.parse(value))
            } catch {
                // The URL may hold a password: describe the problem, never repeat the value.
                throw ConfigurationError(setting: name, problem: "the URL \(error.problem)")
            }
        } else {
            configuration.database = .sqlite(path: GatewayConfiguration.defaultSQLitePath(dataDirectory: configuration.dataDirectory))
        }
        if let (value, _) = self.value(.policies) {
            configuration.policiesDirectory = value
        }
        if let (value, name) = self.value(.logLevel) {
            guard let level = Logger.Level(rawValue: value.lowercased()) else {
                let levels = Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")
                throw ConfigurationError(setting: name, problem: "\"\(value)\" is not a log level (\(levels))")
            }
            configuration.logLevel = level
        }
        if let (value, name) = self.value(.logFormat) {
            guard let format = LogFormat(rawValue: value.lowercased()) else {
                throw ConfigurationError(setting: name, problem: "\"\(value)\" is not a log format (text, json)")
            }
            configuration.logFormat = format
        }
        if let (value, name) = self.value(.maxBodyBytes) {
            guard let bytes = Int(value), (1...(1 << 30)).contains(bytes) else {
                throw ConfigurationError(setting: name, problem: "\"\(value)\" is not a byte count from 1 to 1073741824")
            }
            configuration.maxBodyBytes = bytes
        }
        return configuration
    }

    /// The value of a setting and the name to blame for it: the flag when given, else the variable.
    private func value(_ setting: Setting) -> (String, String)? {
        if let flag = self.flags[setting], !flag.isEmpty {
            return (flag, setting.flag)
        }
        if let variable = self.environment[setting.variable], !variable.isEmpty {
            return (variable, setting.variable)
        }
        return nil
    }
}
