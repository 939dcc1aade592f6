import Foundation
public import Logging

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
    /// The token issuer and base of discovery URLs (`PORTCULLIS_PUBLIC_URL`), never taken from a request.
    public var publicURL: String
    /// The `aud` of access tokens (`PORTCULLIS_TOKEN_AUDIENCE`).
    public var tokenAudience: String
    /// Lifetime of access tokens (`PORTCULLIS_ACCESS_TOKEN_TTL`).
    public var accessTokenTTL: Duration
    /// The proxies whose `Forwarded`/`X-Forwarded-For` headers name the client (`PORTCULLIS_TRUSTED_PROXIES`);
    /// empty: every client is its connection's peer.
    public var trustedProxies = TrustedProxies()
    /// How long graceful shutdown may take before the process exits with status 1 (`PORTCULLIS_SHUTDOWN_TIMEOUT`).
    public var shutdownTimeout: Duration = .seconds(30)
    /// Audit lag past which `/health/ready` fails (`PORTCULLIS_AUDIT_MAX_LAG`).
    public var auditMaxLag: Duration = .seconds(30)
    /// Deliveries of a flow step queue message before it moves to the dead letters.
    public var queueMaxAttempts = 10
    /// How long a database call waits for a PostgreSQL connection (connecting included) before it fails
    /// and the request gets 503 (`PORTCULLIS_DATABASE_TIMEOUT`).
    public var databaseTimeout: Duration = .seconds(5)
    /// How long one PostgreSQL statement may run before it is abandoned, its connection closed, and the
    /// request answered 503 (`PORTCULLIS_STATEMENT_TIMEOUT`).
    public var statementTimeout: Duration = .seconds(30)
    /// The longest a session may last, however often its tokens are refreshed (`PORTCULLIS_SESSION_MAX`).
    public var sessionMax: Duration = .seconds(12 * 3600)
    /// Threads of the password-hashing pool and how many hashes may wait for one
    /// (`PORTCULLIS_PASSWORD_HASH_THREADS`, `PORTCULLIS_PASSWORD_HASH_QUEUE`); logins past that are shed.
    public var passwordHashThreads: Int = 1
    public var passwordHashQueue: Int = 16
    /// `PORTCULLIS_MASTER_KEY`, when set; see ``MasterKey``.
    public var masterKey: MasterKey?
    /// The first platform admin (`PORTCULLIS_ADMIN_USERNAME` / `PORTCULLIS_ADMIN_PASSWORD`); both or neither.
    public var bootstrapAdmin: (username: String, password: String)?
    public var passwordPolicy: PasswordPolicy
    public var lockout: LockoutPolicy
    /// How old the newest signing key may get before a new one is made (`PORTCULLIS_KEY_ROTATION_INTERVAL`).
    public var keyRotationInterval: Duration = .seconds(30 * 86400)
    /// How long audit records are kept (`PORTCULLIS_AUDIT_RETENTION`); nil keeps them forever.
    public var auditRetention: Duration?
    /// How long a request waits for its decision record to commit before it is refused with 503
    /// (`PORTCULLIS_AUDIT_WRITE_TIMEOUT`).
    public var auditWriteTimeout: Duration = .seconds(5)
    /// How long a verified token's principal is reused without verifying again (`PORTCULLIS_TOKEN_CACHE_TTL`);
    /// zero verifies every request (the benchmark's uncached figure). Changes to the account reach cached
    /// principals at once either way (identity change events purge them).
    public var tokenCacheTTL: Duration = .seconds(30)

    public static let defaultMaxBodyBytes = 10 * 1024 * 1024

    public init(
        host: String = "127.0.0.1",
        port: Int = 8080,
        dataDirectory: String = "./data",
        database: DatabaseLocation? = nil,
        policiesDirectory: String = "./policies",
        logLevel: Logger.Level = .info,
        logFormat: LogFormat = .text,
        maxBodyBytes: Int = GatewayConfiguration.defaultMaxBodyBytes,
        publicURL: String = "http://localhost:8080",
        tokenAudience: String = "portcullis",
        accessTokenTTL: Duration = .seconds(15 * 60),
        masterKey: MasterKey? = nil,
        bootstrapAdmin: (username: String, password: String)? = nil,
        passwordPolicy: PasswordPolicy = PasswordPolicy(),
        lockout: LockoutPolicy = LockoutPolicy()
    ) {
        self.host = host
        self.port = port
        self.dataDirectory = dataDirectory
        self.database = database ?? .sqlite(path: Self.defaultSQLitePath(dataDirectory: dataDirectory))
        self.policiesDirectory = policiesDirectory
        self.logLevel = logLevel
        self.logFormat = logFormat
        self.maxBodyBytes = maxBodyBytes
        self.publicURL = publicURL
        self.tokenAudience = tokenAudience
        self.accessTokenTTL = accessTokenTTL
        self.masterKey = masterKey
        self.bootstrapAdmin = bootstrapAdmin
        self.passwordPolicy = passwordPolicy
        self.lockout = lockout
    }

    public static func defaultSQLitePath(dataDirectory: String) -> String {
        dataDirectory.hasSuffix("/") ? "\(dataDirectory)portcullis.sqlite" : "\(dataDirectory)/portcullis.sqlite"
    }
}
