/// The locks that serialise work across every replica, with their PostgreSQL advisory-lock keys in one
/// place, so that no two features ever pick the same key.
///
/// ```swift
/// try await database.transaction { connection in
///     try await connection.hold(.auditChain)   // until the transaction ends, on every replica
///     ...
/// }
/// ```
public enum ClusterLock: Int64, Sendable, CaseIterable {
    /// Migration runs: replicas that start at once take turns ("portcullis" in ASCII, truncated).
    case migrations = 0x706f_7274_6375_6c6c
    /// Appends to the audit chain: one link at a time ("audit" in ASCII).
    case auditChain = 0x61_7564_6974
}

extension DatabaseConnection {
    /// Holds `lock` until the current transaction ends: a transaction-scoped advisory lock on PostgreSQL.
    /// On SQLite there is nothing to take: the backend runs one transaction at a time on its single
    /// connection, and only one process writes to the file.
    public func hold(_ lock: ClusterLock) async throws {
        if self.dialect == .postgres {
            try await self.execute("SELECT pg_advisory_xact_lock(\(lock.rawValue))")
        }
    }
}
