/// Locks of one thing among many, by its key (a flow's id), across every replica: PostgreSQL advisory
/// locks in the two-key space, which never meets the one-key space of ``ClusterLock``.
///
/// Unlike a row's lock they queue fairly: once an exclusive request waits, a later shared request waits
/// behind it. (PostgreSQL lets a new `FOR SHARE` locker of a row pass a waiting `FOR UPDATE`, so shared
/// holders that always overlap hold an exclusive one off for as long as they keep coming.)
///
/// ```swift
/// try await database.transaction { connection in
///     try await connection.hold(.flowLifecycle, key: flowID, mode: .shared)   // until the transaction ends
///     ...
/// }
/// ```
///
/// Keys are hashed (`hashtext`), so two keys may share a lock: that only makes one wait for the other's
/// holders, since a transaction holds at most one lock of each kind and takes the kinds in one order
/// (a flow's lifecycle before its token's client).
public enum KeyedLock: Int32, Sendable, CaseIterable {
    /// A flow's lifecycle: emits, webhook calls and the scheduler's stop hold it shared while they write
    /// into or withdraw from the flow's queues; the orchestrator's start and stop hold it exclusively.
    case flowLifecycle = 0x666c_6f77  // "flow" in ASCII
    /// A service account's client secret, by account id: `client_credentials` grants hold it shared while
    /// they check the secret and issue, a rotation or the client's deletion exclusively, first in its
    /// transaction (or, inside a flow's start or stop, after only the flow's own locks, which no grant
    /// takes).
    case serviceClient = 0x636c_6e74  // "clnt" in ASCII

    public enum Mode: Sendable {
        case shared
        case exclusive
    }
}

extension DatabaseConnection {
    /// Holds `lock` for `key` in `mode` until the current transaction ends.
    ///
    /// On SQLite there is nothing to take: the backend runs one transaction at a time on its single
    /// connection, first come first served.
    ///
    /// - Parameters:
    ///   - lock: Which kind of thing is locked.
    ///   - key: The thing (bound as a parameter, hashed by the database).
    ///   - mode: ``KeyedLock/Mode/shared`` beside other shared holders, or ``KeyedLock/Mode/exclusive``.
    public func hold(_ lock: KeyedLock, key: String, mode: KeyedLock.Mode) async throws {
        guard self.dialect == .postgres else { return }
        let function = mode == .shared ? "pg_advisory_xact_lock_shared" : "pg_advisory_xact_lock"
        // The lock's number is written into the SQL, not bound: a bound Int32 arrives as `bigint`, and there is
        // no `(bigint, integer)` form of these functions. `hashtext` gives the `integer` key.
        try await self.execute("SELECT \(unsafe: function)(\(unsafe: String(lock.rawValue)), hashtext(\(key)))")
    }
}
