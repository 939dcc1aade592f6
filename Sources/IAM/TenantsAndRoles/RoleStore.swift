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

    /// Every role, built-in ones first, then by name.
    public func all() async throws -> [Role] {
        try await self.database.query(
            "SELECT id, name, description, permissions, tenant_id, built_in FROM iam_roles ORDER BY built_in DESC, name, id"
        ).map(Self.role)
    }

    /// Adds a custom role. A taken name is a ``StorageError/uniqueViolation``.
    public func insert(_ role: Role) async throws {
        let now = Timestamp.milliseconds(self.clock.now)
        try await self.database.execute(
            """
            INSERT INTO iam_roles (id, name, tenant_id, description, permissions, built_in, created_at, updated_at)
            VALUES (\(role.id), \(role.name), \(role.tenant), \(role.description), \(try JSONCoding.string(role.permissions)), \(false), \(now), \(now))
            """
        )
    }

    /// Writes a role's name, description and permissions. A taken name is a ``StorageError/uniqueViolation``.
    public func update(_ role: Role, on connection: any DatabaseConnection) async throws {
        try await connection.execute(
            """
            UPDATE iam_roles SET name = \(role.name), description = \(role.description),
                permissions = \(try JSONCoding.string(role.permissions)), updated_at = \(Timestamp.milliseconds(self.clock.now))
            WHERE id = \(role.id)
            """
        )
    }

    /// Removes a role and every account's membership in it.
    public func delete(id: String, on connection: any DatabaseConnection) async throws {
        try await connection.execute("DELETE FROM iam_account_roles WHERE role_id = \(id)")
        try await connection.execute("DELETE FROM iam_roles WHERE id = \(id)")
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
