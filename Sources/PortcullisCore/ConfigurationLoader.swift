import Foundation
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

        public static let publicURL = Setting(variable: "PORTCULLIS_PUBLIC_URL", flag: "--public-url")
        public static let tokenAudience = Setting(variable: "PORTCULLIS_TOKEN_AUDIENCE", flag: "--token-audience")
        public static let accessTokenTTL = Setting(variable: "PORTCULLIS_ACCESS_TOKEN_TTL", flag: "--access-token-ttl")
        public static let passwordMinLength = Setting(variable: "PORTCULLIS_PASSWORD_MIN_LENGTH", flag: "--password-min-length")
        // Secrets are read from the environment only: flags show up in process listings.
        public static let masterKey = Setting(variable: "PORTCULLIS_MASTER_KEY", flag: "")
        public static let adminUsername = Setting(variable: "PORTCULLIS_ADMIN_USERNAME", flag: "")
        public static let adminPassword = Setting(variable: "PORTCULLIS_ADMIN_PASSWORD", flag: "")
        public static let lockoutAccountAttempts = Setting(variable: "PORTCULLIS_LOCKOUT_ACCOUNT_ATTEMPTS", flag: "")
        public static let lockoutIPAttempts = Setting(variable: "PORTCULLIS_LOCKOUT_IP_ATTEMPTS", flag: "")
        public static let lockoutWindow = Setting(variable: "PORTCULLIS_LOCKOUT_WINDOW", flag: "")
        public static let lockoutDuration = Setting(variable: "PORTCULLIS_LOCKOUT_DURATION", flag: "")
        public static let keyRotationInterval = Setting(variable: "PORTCULLIS_KEY_ROTATION_INTERVAL", flag: "")
        public static let auditRetention = Setting(variable: "PORTCULLIS_AUDIT_RETENTION", flag: "")
        public static let auditWriteTimeout = Setting(variable: "PORTCULLIS_AUDIT_WRITE_TIMEOUT", flag: "")
        public static let sessionMax = Setting(variable: "PORTCULLIS_SESSION_MAX", flag: "")
        public static let databaseTimeout = Setting(variable: "PORTCULLIS_DATABASE_TIMEOUT", flag: "")
        public static let statementTimeout = Setting(variable: "PORTCULLIS_STATEMENT_TIMEOUT", flag: "")
        public static let auditMaxLag = Setting(variable: "PORTCULLIS_AUDIT_MAX_LAG", flag: "")
        public static let shutdownTimeout = Setting(variable: "PORTCULLIS_SHUTDOWN_TIMEOUT", flag: "")
        public static let passwordHashThreads = Setting(variable: "PORTCULLIS_PASSWORD_HASH_THREADS", flag: "")
        public static let passwordHashQueue = Setting(variable: "PORTCULLIS_PASSWORD_HASH_QUEUE", flag: "")
        public static let queueMaxAttempts = Setting(variable: "PORTCULLIS_QUEUE_MAX_ATTEMPTS", flag: "")
        public static let tokenCacheTTL = Setting(variable: "PORTCULLIS_TOKEN_CACHE_TTL", flag: "")
        public static let trustedProxies = Setting(variable: "PORTCULLIS_TRUSTED_PROXIES", flag: "")
        public static let forwardedHeader = Setting(variable: "PORTCULLIS_FORWARDED_HEADER", flag: "")

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
        if let (value, name) = self.value(.trustedProxies) {
            switch TrustedProxies.parse(value) {
            case .success(let proxies): configuration.trustedProxies = proxies
            case .failure(let invalid) where invalid.tooMany:
                throw ConfigurationError(setting: name, problem: "lists more than \(TrustedProxies.maximumBlocks) addresses or ranges")
            case .failure(let invalid):
                throw ConfigurationError(
                    setting: name,
                    problem: "\"\(invalid.entry)\" is not an IP address or CIDR range (a comma-separated list, such as 10.0.0.0/8, ::1)")
            }
        }
        if let (value, name) = self.value(.forwardedHeader) {
            guard let header = TrustedProxies.Header(rawValue: value.lowercased()) else {
                throw ConfigurationError(setting: name, problem: "\"\(value.prefix(64))\" is not x-forwarded-for or forwarded")
            }
            configuration.trustedProxies.header = header
        }
        try self.loadIdentitySettings(into: &configuration)
        return configuration
    }

    private func loadIdentitySettings(into configuration: inout GatewayConfiguration) throws(ConfigurationError) {
        if let (value, name) = self.value(.publicURL) {
            guard let url = URLComponents(string: value), ["http", "https"].contains(url.scheme ?? ""), url.host?.isEmpty == false,
                url.query == nil, url.fragment == nil
            else {
                throw ConfigurationError(setting: name, problem: "\"\(value)\" is not an http(s) URL without query or fragment")
            }
            configuration.publicURL = value.hasSuffix("/") ? String(value.dropLast()) : value
        }
        if let (value, _) = self.value(.tokenAudience) {
            configuration.tokenAudience = value
        }
        if let (value, name) = self.value(.accessTokenTTL) {
            guard let ttl = DurationText.parse(value), ttl >= .seconds(10), ttl <= .seconds(86400) else {
                throw ConfigurationError(setting: name, problem: "\"\(value)\" is not a duration from 10s to 24h (30s, 15m, 1h)")
            }
            configuration.accessTokenTTL = ttl
        }
        if let (value, name) = self.value(.passwordMinLength) {
            guard let length = Int(value), (8...PasswordPolicy.maximumBytes).contains(length) else {
                throw ConfigurationError(setting: name, problem: "\"\(value)\" is not a length from 8 to \(PasswordPolicy.maximumBytes)")
            }
            configuration.passwordPolicy.minimumLength = length
        }
        if let (value, name) = self.value(.masterKey) {
            guard let key = MasterKey(base64: value) else {
                // Never repeat a secret, not even a malformed one.
                throw ConfigurationError(setting: name, problem: "must be the base64 encoding of 32 random bytes (openssl rand -base64 32)")
            }
            configuration.masterKey = key
        }
        switch (self.value(.adminUsername), self.value(.adminPassword)) {
        case (nil, nil):
            break
        case (let (username, _)?, let (password, name)?):
            if let problem = configuration.passwordPolicy.problem(with: password) {
                throw ConfigurationError(setting: name, problem: problem)
            }
            configuration.bootstrapAdmin = (username, password)
        case (nil, _):
            throw ConfigurationError(setting: "PORTCULLIS_ADMIN_USERNAME", problem: "must be set together with PORTCULLIS_ADMIN_PASSWORD")
        case (_, nil):
            throw ConfigurationError(setting: "PORTCULLIS_ADMIN_PASSWORD", problem: "must be set together with PORTCULLIS_ADMIN_USERNAME")
        }
        if let (value, name) = self.value(.lockoutAccountAttempts) {
            configuration.lockout.accountAttempts = try Self.count(value, name)
        }
        if let (value, name) = self.value(.lockoutIPAttempts) {
            configuration.lockout.ipAttempts = try Self.count(value, name)
        }
        if let (value, name) = self.value(.lockoutWindow) {
            configuration.lockout.window = try Self.duration(value, name)
        }
        if let (value, name) = self.value(.lockoutDuration) {
            configuration.lockout.duration = try Self.duration(value, name)
        }
        if let (value, name) = self.value(.keyRotationInterval) {
            let interval = try Self.duration(value, name)
            guard interval >= .seconds(3600) else {
                throw ConfigurationError(setting: name, problem: "\"\(value)\" is shorter than 1h")
            }
            configuration.keyRotationInterval = interval
        }
        if let (value, name) = self.value(.auditRetention) {
            let retention = try Self.duration(value, name)
            guard retention >= .seconds(86400) else {
                throw ConfigurationError(setting: name, problem: "\"\(value)\" is shorter than 1d")
            }
            configuration.auditRetention = retention
        }
        if let (value, name) = self.value(.tokenCacheTTL) {
            // DurationText reads positive durations only; 0s (no cache) is spelled out here.
            configuration.tokenCacheTTL =
                value == "0s" || value == "0"
                ? .zero : try Self.duration(value, name, within: Duration.seconds(1)...Duration.seconds(300), "0s and 5m")
        }
        if let (value, name) = self.value(.auditWriteTimeout) {
            configuration.auditWriteTimeout = try Self.duration(value, name, within: Duration.seconds(1)...Duration.seconds(300), "1s and 5m")
        }
        if let (value, name) = self.value(.shutdownTimeout) {
            configuration.shutdownTimeout = try Self.duration(value, name, within: Duration.seconds(1)...Duration.seconds(600), "1s and 10m")
        }
        if let (value, name) = self.value(.auditMaxLag) {
            configuration.auditMaxLag = try Self.duration(value, name, within: Duration.seconds(1)...Duration.seconds(86400), "1s and 1d")
        }
        if let (value, name) = self.value(.databaseTimeout) {
            configuration.databaseTimeout = try Self.duration(value, name, within: Duration.seconds(1)...Duration.seconds(300), "1s and 5m")
        }
        if let (value, name) = self.value(.statementTimeout) {
            configuration.statementTimeout = try Self.duration(value, name, within: Duration.seconds(1)...Duration.seconds(3600), "1s and 1h")
        }
        if let (value, name) = self.value(.sessionMax) {
            configuration.sessionMax = try Self.duration(value, name, within: Duration.seconds(300)...Duration.seconds(90 * 86400), "5m and 90d")
        }
        if let (value, name) = self.value(.queueMaxAttempts) {
            guard let attempts = Int(value), (1...100).contains(attempts) else {
                throw ConfigurationError(setting: name, problem: "\"\(value)\" is not a number of attempts from 1 to 100")
            }
            configuration.queueMaxAttempts = attempts
        }
        if let (value, name) = self.value(.passwordHashThreads) {
            guard let threads = Int(value), (1...64).contains(threads) else {
                throw ConfigurationError(setting: name, problem: "\"\(value)\" is not a thread count from 1 to 64")
            }
            configuration.passwordHashThreads = threads
        }
        if let (value, name) = self.value(.passwordHashQueue) {
            configuration.passwordHashQueue = try Self.count(value, name)
        }
        if configuration.accessTokenTTL > configuration.sessionMax {
            throw ConfigurationError(
                setting: "PORTCULLIS_SESSION_MAX", problem: "is shorter than PORTCULLIS_ACCESS_TOKEN_TTL: a session must outlast its first token")
        }
        if case .postgres = configuration.database, configuration.masterKey == nil {
            throw ConfigurationError(
                setting: "PORTCULLIS_MASTER_KEY",
                problem: "is required with PostgreSQL, because every replica needs the same key (openssl rand -base64 32)"
            )
        }
    }

    private static func count(_ value: String, _ name: String) throws(ConfigurationError) -> Int {
        guard let count = Int(value), (1...10_000).contains(count) else {
            throw ConfigurationError(setting: name, problem: "\"\(value)\" is not a count from 1 to 10000")
        }
        return count
    }

    private static func duration(_ value: String, _ name: String) throws(ConfigurationError) -> Duration {
        guard let duration = DurationText.parse(value) else {
            throw ConfigurationError(setting: name, problem: "\"\(value)\" is not a duration (30s, 15m, 1h, 1d)")
        }
        return duration
    }

    /// A duration within `range`, which `rangeText` names for the error ("1s and 5m").
    private static func duration(
        _ value: String, _ name: String, within range: ClosedRange<Duration>, _ rangeText: String
    ) throws(ConfigurationError) -> Duration {
        let duration = try Self.duration(value, name)
        guard range.contains(duration) else {
            throw ConfigurationError(setting: name, problem: "\"\(value)\" is not between \(rangeText)")
        }
        return duration
    }

    /// The value of a setting and the name to blame for it: the flag when given, else the variable.
    private func value(_ setting: Setting) -> (String, String)? {
        if !setting.flag.isEmpty, let flag = self.flags[setting], !flag.isEmpty {
            return (flag, setting.flag)
        }
        if let variable = self.environment[setting.variable], !variable.isEmpty {
            return (variable, setting.variable)
        }
        return nil
    }
}
