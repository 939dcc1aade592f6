import Foundation

/// A parsed `postgres://` URL.
public struct PostgresEndpoint: Sendable, Equatable {
    public enum Address: Sendable, Equatable {
        case tcp(host: String, port: Int)
        /// The socket file itself, `<dir>/.s.PGSQL.<port>`, as libpq derives it from `?host=/dir`.
        case unixSocket(path: String)
    }

    /// `sslmode` as libpq names it; `disable`, `prefer` (default) and `require` are supported.
    public enum TLSMode: String, Sendable, Equatable {
        case disable, prefer, require
    }

    public var address: Address
    public var username: String
    public var password: String?
    public var database: String
    public var tls: TLSMode
    /// How long opening one connection may take (`connect_timeout`, in seconds as libpq names it; 5 s when
    /// the URL does not say).
    public var connectTimeout: Duration

    public static let defaultConnectTimeout: Duration = .seconds(5)

    public init(
        address: Address, username: String, password: String?, database: String, tls: TLSMode,
        connectTimeout: Duration = Self.defaultConnectTimeout
    ) {
        self.address = address
        self.username = username
        self.password = password
        self.database = database
        self.tls = tls
        self.connectTimeout = connectTimeout
    }

    public var redactedDescription: String {
        let credentials = self.password == nil ? self.username : "\(self.username):***"
        switch self.address {
        case .tcp(let host, let port): return "postgres://\(credentials)@\(host):\(port)/\(self.database)"
        case .unixSocket(let path): return "postgres://\(credentials)@/\(self.database)?socket=\(path)"
        }
    }

    /// Parses `postgres://user:pass@host:port/db`, also with `?host=/socket/dir`, `?sslmode=` and
    /// `?connect_timeout=` (whole seconds, 1...600).
    ///
    /// - Throws: ``PostgresURLError`` with a sentence that never repeats the password.
    public static func parse(_ url: String) throws(PostgresURLError) -> PostgresEndpoint {
        guard let components = URLComponents(string: url) else {
            throw PostgresURLError("is not a valid URL")
        }
        guard let scheme = components.scheme?.lowercased(), scheme == "postgres" || scheme == "postgresql" else {
            throw PostgresURLError("must start with postgres:// or postgresql://")
        }
        guard let user = components.user.flatMap({ $0.removingPercentEncoding }), !user.isEmpty else {
            throw PostgresURLError("needs a user name (postgres://user:password@host/database)")
        }
        let password = components.password.flatMap { $0.removingPercentEncoding }
        var path = components.path
        if path.hasPrefix("/") { path.removeFirst() }
        guard let databaseName = path.removingPercentEncoding, !databaseName.contains("/") else {
            throw PostgresURLError("has an invalid database name")
        }
        let database = databaseName.isEmpty ? user : databaseName
        let port = components.port ?? 5432
        guard (1...65535).contains(port) else {
            throw PostgresURLError("has a port outside 1...65535")
        }

        var socketDirectory: String?
        var tls: TLSMode?
        var connectTimeout = Self.defaultConnectTimeout
        for item in components.queryItems ?? [] {
            switch item.name {
            case "host":
                guard let value = item.value, value.hasPrefix("/") else {
                    throw PostgresURLError("has a host parameter that is not an absolute socket directory")
                }
                socketDirectory = value
            case "sslmode":
                guard let value = item.value, let mode = TLSMode(rawValue: value) else {
                    throw PostgresURLError("has an unsupported sslmode (use disable, prefer or require)")
                }
                tls = mode
            case "connect_timeout":
                guard let value = item.value, let seconds = Int(value), (1...600).contains(seconds) else {
                    throw PostgresURLError("has a connect_timeout that is not a whole number of seconds in 1...600")
                }
                connectTimeout = .seconds(seconds)
            default:
                throw PostgresURLError("has an unsupported parameter '\(item.name)' (supported: host, sslmode, connect_timeout)")
            }
        }

        let address: Address
        if let socketDirectory {
            let directory = socketDirectory.hasSuffix("/") ? String(socketDirectory.dropLast()) : socketDirectory
            address = .unixSocket(path: "\(directory)/.s.PGSQL.\(port)")
        } else {
            guard let host = components.host, !host.isEmpty else {
                throw PostgresURLError("needs a host, or ?host=/socket/dir for a Unix socket")
            }
            address = .tcp(host: host, port: port)
        }
        let defaultTLS: TLSMode = socketDirectory == nil ? .prefer : .disable
        return PostgresEndpoint(
            address: address, username: user, password: password, database: database, tls: tls ?? defaultTLS,
            connectTimeout: connectTimeout)
    }
}

/// Why a `DATABASE_URL` was refused. The message never contains the URL's password.
public struct PostgresURLError: Error, Sendable, Equatable, CustomStringConvertible {
    public let problem: String

    public init(_ problem: String) {
        self.problem = problem
    }

    public var description: String { self.problem }
}
