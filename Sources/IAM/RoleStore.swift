import Foundation
public import Policy
public import PortcullisCore
public import Storage

/// SQL for roles. Built-in roles are kept in step with `policies/roles.yaml` at start-up.
public struct RoleStore: Sendable {
    let database: any Database
    let clock: WallClock

    public init(database: any Database, clock: WallClock) {
        self.clock = clock
        self.database = database
    }

    /// The id of a built-in role: stable across restarts and replicas.
    public static func builtInID(_ name: String) -> String {
        "builtin-\(name.lowercased())"
    }

    /// Creates or updates the built-in roles from the policy files.
    public func syncBuiltIns(_ roles: [RoleDefinition]) async throws {
        let now = Timestamp.milliseconds(self.clock.now)
        try await self.database.transaction { connection in
            for role in roles {
                let id = Self.builtInID(role.name)
                let permissions = try JSONCoding.string(role.permissions)
                // An upsert: replicas starting together both run this.
                try await connection.execute(
                    """
                    INSERT INTO iam_roles (id, name, tenant_id, description, permissions, built_in, created_at, updated_at)
                    VALUES (\(id), \(role.name), \(SQLValue.null), \(role.description), \(permissions), \(true), \(now), \(now))
                    ON CONFLICT (id) DO UPDATE SET description = excluded.description, permissions = excluded.permissions,
                        updated_at = excluded.updated_at
                    """
                )
            }
        }
    }

    /// The union of the permissions of `roleIDs`.
    public func permissions(of roleIDs: [String], on connection: (any DatabaseConnection)? = nil) async throws -> Set<String> {
        guard !roleIDs.isEmpty else { return [] }
        let query: SQLQuery = "SELECT permissions FROM iam_roles WHERE id IN (\(list: roleIDs))"
        let rows: [SQLRow]
        if let connection {
            rows = try await connection.query(query)
        } else {
            rows = try await self.database.query(query)
        }
        var permissions = Set<String>()
        for row in rows {
            permissions.formUnion(try JSONCoding.decode([String].self, from: try row.string("permissions")))
        }
        return permissions
    }

    public func find(id: String) async throws -> Role? {
        try await self.database.first("SELECT id, name, description, permissions, tenant_id, built_in FROM iam_roles WHERE id = \(id)")
            .map(Self.role)
    }

    static func role(_ row: SQLRow) throws -> Role {
        Role(
            id: try row.string("id"),
            name: try row.string("name"),
            description: try row.string("description"),
            permissions: try JSONCoding.decode([String].self, from: try row.string("permissions")),
            tenant: try row.optionalString("tenant_id"),
            builtIn: try row.bool("built_in")
        )
    }
}
