import PortcullisCore
public import Storage

/// One dependency that must work for the gateway to serve: reported by name in `/health/ready`.
public protocol ReadinessCheck: Sendable {
    var name: String { get }
    /// Whether the dependency works now. Must not throw; failures are `false`, with the reason logged.
    func isReady() async -> Bool
}

/// The database answers a trivial query.
public struct DatabaseReadiness: ReadinessCheck {
    public let name = "database"
    let database: any Database

    public init(database: any Database) {
        self.database = database
    }

    public func isReady() async -> Bool {
        do {
            try await self.database.ping()
            return true
        } catch {
            return false
        }
    }
}

/// Every migration this build knows has been applied.
public struct MigrationReadiness: ReadinessCheck {
    public let name = "migrations"
    let runner: MigrationRunner

    public init(runner: MigrationRunner) {
        self.runner = runner
    }

    public func isReady() async -> Bool {
        do {
            return try await withTimeout(.seconds(3)) { [runner] in try await runner.pending().isEmpty }
        } catch {
            return false
        }
    }
}
