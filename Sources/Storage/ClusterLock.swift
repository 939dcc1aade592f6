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

/// Locks of one thing among many, by its key (a flow's id): PostgreSQL advisory locks in the two-key space,
/// which never meets the one-key space of ``ClusterLock``. Unlike a row's lock, they queue fairly: once an
/// exclusive request waits, later shared requests wait behind it, so a stream of shared holders that
/// always overlap cannot hold an exclusive one off. (A row locked `FOR SHARE` lets new shared lockers pass
/// a waiting `FOR UPDATE`.) Keys are hashed: two keys may share a lock, which only makes one wait for the
/// other.
public enum KeyedLock: Int32, Sendable, CaseIterable {
    /// A flow's lifecycle: writers into its queues hold it shared, a start or stop exclusively ("flow").
    case flowLifecycle = 0x666c_6f77
}

extension DatabaseConnection {
    /// Holds `lock` for `key` until the current transaction ends, shared or exclusively. Nothing to take on
    /// SQLite (one transaction at a time on its single connection).
    public func hold(_ lock: KeyedLock, key: String, shared: Bool) async throws {
        if self.dialect == .postgres {
            let function = shared ? "pg_advisory_xact_lock_shared" : "pg_advisory_xact_lock"
            try await self.execute("SELECT \(unsafe: function)(\(unsafe: String(lock.rawValue)), hashtext(\(key)))")
        }
    }
}
