import Foundation
public import PortcullisCore
public import Storage

/// SQL for accounts and their roles. Every read and write of `iam_accounts` goes through here.
public struct AccountStore: Sendable {
    let database: any Database
    let tenants: TenantStore

    public init(database: any Database, tenants: TenantStore) {
        self.tenants = tenants
        self.database = database
    }

    /// An account with its stored password hash, for login.
    public struct Credentials: Sendable {
        public let account: Account
        public let passwordHash: String?
    }

    static let columns: SQLQuery = "id, username, firstname, lastname, tenant_id, status, type, permissions, created_at, updated_at"

    public func find(id: String, on connection: (any DatabaseConnection)? = nil) async throws -> Account? {
        try await self.run(on: connection) { connection in
            guard let row = try await connection.first("SELECT \(Self.columns) FROM iam_accounts WHERE id = \(id)") else { return nil }
            return try await Self.account(row, connection: connection)
        }
    }

    public func credentials(username: String) async throws -> Credentials? {
        let canonical = Username.canonical(username)
        return try await self.database.withConnection { connection in
            guard let row = try await connection.first("SELECT \(Self.columns), password_hash FROM iam_accounts WHERE username = \(canonical)")
            else { return nil }
            return Credentials(account: try await Self.account(row, connection: connection), passwordHash: try row.optionalString("password_hash"))
        }
    }

    /// Inserts an account; ``StorageError/uniqueViolation(_:)`` when the username is taken.
    public func insert(_ account: Account, passwordHash: String?, on connection: any DatabaseConnection) async throws {
        let permissions = try JSONCoding.string(account.permissions)
        try await connection.execute(
            """
            INSERT INTO iam_accounts (id, username, firstname, lastname, tenant_id, status, type, permissions, password_hash, created_at, updated_at)
            VALUES (\(account.id), \(account.username), \(account.firstname), \(account.lastname), \(account.tenant), \(account.status.rawValue),
                    \(account.type.rawValue), \(permissions), \(passwordHash), \(Timestamp.milliseconds(account.createdAt)),
                    \(Timestamp.milliseconds(account.updatedAt)))
            """
        )
        try await self.setRoles(account.id, roles: account.roles, on: connection)
    }

    public func update(_ account: Account, on connection: any DatabaseConnection) async throws {
        let permissions = try JSONCoding.string(account.permissions)
        try await connection.execute(
            """
            UPDATE iam_accounts SET username = \(account.username), firstname = \(account.firstname), lastname = \(account.lastname),
                tenant_id = \(account.tenant), status = \(account.status.rawValue), permissions = \(permissions),
                updated_at = \(Timestamp.milliseconds(account.updatedAt))
            WHERE id = \(account.id)
            """
        )
        try await self.setRoles(account.id, roles: account.roles, on: connection)
    }

    /// The account's password hash, its row held (shared, on PostgreSQL) until the transaction ends, so that
    /// a password change waits for what is issued under the old one.
    static func passwordHash(of accountID: String, lockedOn connection: any DatabaseConnection) async throws -> String? {
        let lock: SQLQuery = connection.dialect == .postgres ? " FOR SHARE" : ""
        return try await connection.first("SELECT password_hash FROM iam_accounts WHERE id = \(accountID)\(lock)")?.optionalString("password_hash")
    }

    public func setPasswordHash(_ hash: String, accountID: String, on connection: (any DatabaseConnection)? = nil) async throws {
        try await self.run(on: connection) { connection in
            try await connection.execute("UPDATE iam_accounts SET password_hash = \(hash) WHERE id = \(accountID)")
        }
    }

    public func delete(id: String, on connection: any DatabaseConnection) async throws {
        try await connection.execute("DELETE FROM iam_account_roles WHERE account_id = \(id)")
        try await connection.execute("DELETE FROM iam_accounts WHERE id = \(id)")
    }

    /// Accounts, optionally of one tenant, in creation order, with the total count.
    public func list(tenant: String?, type: Principal.AccountType? = nil, offset: Int, limit: Int) async throws -> (items: [Account], total: Int) {
        var filter: SQLQuery = " WHERE 1 = 1"
        if let tenant { filter.append(" AND tenant_id = \(tenant)") }
        if let type { filter.append(" AND type = \(type.rawValue)") }
        return try await self.database.withConnection { connection in
            let total = try await connection.first("SELECT COUNT(*) AS n FROM iam_accounts\(filter)")?.int("n") ?? 0
            let rows = try await connection.query(
                "SELECT \(Self.columns) FROM iam_accounts\(filter) ORDER BY created_at, id LIMIT \(limit) OFFSET \(offset)"
            )
            var accounts: [Account] = []
            for row in rows {
                accounts.append(try await Self.account(row, connection: connection))
            }
            return (accounts, Int(total))
        }
    }

    /// Whether `account` may act: it is active and so is its tenant, if it has one. An account whose tenant
    /// no longer exists (deleted while the account was being created or changed) may not.
    public func isEnabled(_ account: Account) async throws -> Bool {
        guard account.status == .active else { return false }
        guard let tenant = account.tenant else { return true }
        return try await self.tenants.find(id: tenant)?.status == .active
    }

    /// Whether any active account holds `all` directly or through a role.
    public func platformAdminExists() async throws -> Bool {
        let rows = try await self.database.query(
            """
            SELECT a.permissions AS own, r.permissions AS via_role FROM iam_accounts a
            LEFT JOIN iam_account_roles ar ON ar.account_id = a.id LEFT JOIN iam_roles r ON r.id = ar.role_id
            WHERE a.status = 'ACTIVE'
            """
        )
        for row in rows {
            let own = try JSONCoding.decode([String].self, from: try row.string("own"))
            let viaRole = try row.optionalString("via_role").map { try JSONCoding.decode([String].self, from: $0) } ?? []
            if own.contains("all") || viaRole.contains("all") { return true }
        }
        return false
    }

    private func setRoles(_ accountID: String, roles: [String], on connection: any DatabaseConnection) async throws {
        try await connection.execute("DELETE FROM iam_account_roles WHERE account_id = \(accountID)")
        for role in Set(roles) {
            try await connection.execute("INSERT INTO iam_account_roles (account_id, role_id) VALUES (\(accountID), \(role))")
        }
    }

    private func run<Result: Sendable>(
        on connection: (any DatabaseConnection)?,
        _ body: @Sendable (any DatabaseConnection) async throws -> Result
    ) async throws -> Result {
        if let connection { return try await body(connection) }
        return try await self.database.withConnection(body)
    }

    static func account(_ row: SQLRow, connection: any DatabaseConnection) async throws -> Account {
        let id = try row.string("id")
        let roles = try await connection.query("SELECT role_id FROM iam_account_roles WHERE account_id = \(id) ORDER BY role_id")
        return Account(
            id: id,
            username: try row.string("username"),
            firstname: try row.optionalString("firstname"),
            lastname: try row.optionalString("lastname"),
            tenant: try row.optionalString("tenant_id"),
            status: AccountStatus(rawValue: try row.string("status")) ?? .disabled,
            type: Principal.AccountType(rawValue: try row.string("type")) ?? .user,
            roles: try roles.map { try $0.string("role_id") },
            permissions: try JSONCoding.decode([String].self, from: try row.string("permissions")),
            createdAt: Timestamp.date(milliseconds: try row.int("created_at")),
            updatedAt: Timestamp.date(milliseconds: try row.int("updated_at"))
        )
    }

    /// The account's version (`updated_at`), holding its row (PostgreSQL) until the transaction ends.
    func version(id: String, holdingOn connection: any DatabaseConnection) async throws -> Int64? {
        let lock: SQLQuery = connection.dialect == .postgres ? " FOR UPDATE" : ""
        return try await connection.first("SELECT updated_at FROM iam_accounts WHERE id = \(id)\(lock)").map { try $0.int("updated_at") }
    }

    /// Replaces the password hash only while it is still `old`: a reset in between wins.
    func replacePasswordHash(accountID: String, from old: String, to new: String) async throws {
        try await self.database.execute("UPDATE iam_accounts SET password_hash = \(new) WHERE id = \(accountID) AND password_hash = \(old)")
    }

    /// Disables every account of `tenant`; returns their ids.
    func disableAll(inTenant tenant: String, at now: Date, on connection: any DatabaseConnection) async throws -> [String] {
        let members = try await connection.query("SELECT id FROM iam_accounts WHERE tenant_id = \(tenant)").map { try $0.string("id") }
        try await connection.execute(
            "UPDATE iam_accounts SET status = 'DISABLED', updated_at = \(Timestamp.milliseconds(now)) WHERE tenant_id = \(tenant)")
        return members
    }
}
