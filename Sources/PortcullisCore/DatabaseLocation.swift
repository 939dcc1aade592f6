import Foundation

/// Where the data lives: the embedded SQLite file, or a PostgreSQL server.
public enum DatabaseLocation: Sendable, Equatable {
    case sqlite(path: String)
    case postgres(PostgresEndpoint)

    /// A description safe for logs: never contains a password.
    public var redactedDescription: String {
        switch self {
        case .sqlite(let path): "sqlite:\(path)"
        case .postgres(let endpoint): endpoint.redactedDescription
        }
    }
}
