import Foundation
import PortcullisCore
public import Storage

/// SQL for tenants.
public struct TenantStore: Sendable {
    let database: any Database

    public init(database: any Database) {
        self.database = database
    }

    public func find(id: String, on connection: (any DatabaseConnection)? = nil) async throws -> Tenant? {
        let query: SQLQuery = "SELECT id, name, status, created_at, updated_at FROM iam_tenants WHERE id = \(id)"
        let row = try await (connection != nil ? connection!.first(query) : self.database.first(query))
        return try row.map(Self.tenant)
    }

    public func list(only id: String?, offset: Int, limit: Int) async throws -> (items: [Tenant], total: Int) {
        let filter: SQLQuery = id.map { " WHERE id = \($0)" } ?? ""
        let total = try await self.database.first("SELECT COUNT(*) AS n FROM iam_tenants\(filter)")?.int("n") ?? 0
        let rows = try await self.database.query(
            "SELECT id, name, status, created_at, updated_at FROM iam_tenants\(filter) ORDER BY created_at, id LIMIT \(limit) OFFSET \(offset)"
        )
        return (try rows.map(Self.tenant), Int(total))
    }

    func insert(_ tenant: Tenant, on connection: any DatabaseConnection) async throws {
        try await connection.execute(
            """
            INSERT INTO iam_tenants (id, name, status, created_at, updated_at) VALUES (\(tenant.id), \(tenant.name), \(tenant.status.rawValue),
                \(Timestamp.milliseconds(tenant.createdAt)), \(Timestamp.milliseconds(tenant.updatedAt)))
            """
        )
    }

    /// Writes `tenant` over the version last changed at `checked`; false when it changed since.
    func update(_ tenant: Tenant, ifUpdatedAt checked: Date, on connection: any DatabaseConnection) async throws -> Bool {
        try await connection.first(
            """
            UPDATE iam_tenants SET name = \(tenant.name), status = \(tenant.status.rawValue), updated_at = \(Timestamp.milliseconds(tenant.updatedAt))
            WHERE id = \(tenant.id) AND updated_at = \(Timestamp.milliseconds(checked)) RETURNING id
            """
        ) != nil
    }

    func delete(id: String, on connection: any DatabaseConnection) async throws {
        try await connection.execute("DELETE FROM iam_tenants WHERE id = \(id)")
    }

    static func tenant(_ row: SQLRow) throws -> Tenant {
        Tenant(
            id: try row.string("id"), name: try row.string("name"), status: AccountStatus(rawValue: try row.string("status")) ?? .disabled,
            createdAt: Timestamp.date(milliseconds: try row.int("created_at")), updatedAt: Timestamp.date(milliseconds: try row.int("updated_at"))
        )
    }
}
