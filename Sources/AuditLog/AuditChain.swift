public import Crypto
import Foundation
public import GatewayKit
public import PortcullisCore
public import Storage

/// The hash chain of audit records: each record's `hash` is HMAC-SHA256 under the audit key of its
/// canonical text followed by the previous record's hash, and `seq` counts up without gaps.
///
/// Appends take a chain-wide lock (a PostgreSQL transaction-scoped advisory lock; SQLite's single writer),
/// so replicas appending at once still produce one gap-free chain.
public struct AuditChain: DecisionLog {
    public let database: any Database
    let key: SymmetricKey
    /// Digests of permission sets known to be stored: each set is written once, not with every record.
    let storedSets = StoredPermissionSets()

    /// The `prevHash` of the first record ever appended.
    public static let genesis = String(repeating: "0", count: 64)

    /// - Parameter key: the chain key, derived from the master key (`masterKey.derived(for: "audit-chain")`).
    public init(database: any Database, key: SymmetricKey) {
        self.database = database
        self.key = key
    }

    /// Appends `record` as the next link and returns it as stored. A record whose id is already in the
    /// chain is not appended twice (redelivered events): the stored one is returned.
    @discardableResult
    public func append(_ record: AuditRecord) async throws -> ChainedRecord {
        try await self.database.transaction { connection in
            try await self.append(record, on: connection)
        }
    }

    /// Appends `records` in order, in one transaction: all or none. Records already in the chain (by id)
    /// are skipped. The head is read once and the ids are checked in one query, so a batch costs one
    /// statement per record plus two.
    public func append(contentsOf records: [AuditRecord]) async throws {
        guard !records.isEmpty else { return }
        try await self.database.transaction { connection in
            try await Self.lock(connection)
            let ids = records.map(\.id)
            let existing = Set(try await connection.query("SELECT id FROM audit_records WHERE id IN (\(list: ids))").map { try $0.string("id") })
            var head = try await Self.head(on: connection)
            var seen = existing
            for record in records where seen.insert(record.id).inserted {
                head = try await self.insert(record, after: head, on: connection).link
            }
        }
    }

    /// Appends records built ahead (the gateway's decisions) in order, in one transaction, with one
    /// multi-row INSERT per ``insertChunk`` records: the lock is taken and the head read once per batch,
    /// and each record's text only gets its `seq` put in before it is hashed. They are new records (fresh
    /// ids, never redelivered), so no id is looked up first.
    public func append(decisions records: [PreparedRecord]) async throws {
        guard !records.isEmpty else { return }
        let newSets = self.storedSets.unknown(in: records.compactMap(\.permissionSet))
        try await self.database.transaction { connection in
            try await Self.lock(connection)
            try await Self.store(newSets, at: records[0].createdMilliseconds, on: connection)
            var head = try await Self.head(on: connection)
            var start = records.startIndex
            while start < records.endIndex {
                let end = min(start + Self.insertChunk, records.endIndex)
                var query: SQLQuery = "INSERT INTO audit_records (\(unsafe: Self.columns)) VALUES "
                for (index, record) in records[start..<end].enumerated() {
                    let seq = head.seq + 1
                    let body = record.body(seq: seq)
                    let hash = self.mac(body + head.hash)
                    query.append(
                        """
                        \(unsafe: index == 0 ? "" : ", ")(\(seq), \(record.id), \(record.createdMilliseconds), \(record.name), \(record.serviceName),
                        \(record.requestID), \(record.outcome), \(record.actorSub), \(record.tenant), NULL, \(body), \(head.hash), \(hash))
                        """
                    )
                    head = (seq, hash)
                }
                try await connection.execute(query)
                start = end
            }
        }
        self.storedSets.remember(newSets)
    }

    /// Writes the permission sets a batch names that may not be stored yet (one statement; a set another
    /// writer stored meanwhile is left as it is).
    static func store(_ sets: [PermissionSet], at milliseconds: Int64, on connection: any DatabaseConnection) async throws {
        guard !sets.isEmpty else { return }
        var query: SQLQuery = "INSERT INTO audit_permission_sets (digest, permissions, created_ms) VALUES "
        for (index, set) in sets.enumerated() {
            query.append("\(unsafe: index == 0 ? "" : ", ")(\(set.digest), \(set.canonicalText), \(milliseconds))")
        }
        query.append(" ON CONFLICT (digest) DO NOTHING")
        try await connection.execute(query)
    }

    /// Rows per INSERT statement: 13 parameters each, well within both backends' limits.
    static let insertChunk = 100
    static let columns = "seq, id, created_ms, name, service_name, request_id, outcome, actor_sub, tenant, origin, body, prev_hash, hash"

    /// ``append(_:)`` inside the caller's transaction.
    public func append(_ record: AuditRecord, on connection: any DatabaseConnection) async throws -> ChainedRecord {
        try await Self.lock(connection)
        if let existing = try await connection.first("SELECT body, prev_hash, hash FROM audit_records WHERE id = \(record.id)") {
            return try Self.chained(existing)
        }
        return try await self.insert(record, after: try await Self.head(on: connection), on: connection).stored
    }

    /// Writes `record` as the link after `head` (the lock is held), returning it and the new head.
    private func insert(_ record: AuditRecord, after head: (seq: Int64, hash: String), on connection: any DatabaseConnection) async throws -> (
        stored: ChainedRecord, link: (seq: Int64, hash: String)
    ) {
        var record = record
        record.seq = head.seq + 1
        let body = try record.canonicalText()
        let hash = self.mac(body + head.hash)
        try await connection.execute(
            """
            INSERT INTO audit_records (\(unsafe: Self.columns))
            VALUES (\(record.seq), \(record.id), \(record.createdMilliseconds), \(record.name), \(record.serviceName), \(record.requestID),
                    \(record.outcome), \(record.actor?.sub), \(record.tenant), \(record.origin), \(body), \(head.hash), \(hash))
            """
        )
        return (ChainedRecord(record: record, prevHash: head.hash, hash: hash), (record.seq, hash))
    }

    /// The newest record's link, as two lookups in the primary key (SQLite plans `ORDER BY seq DESC LIMIT 1`
    /// as a scan of the index, stopped after one row; this form is a search on both backends).
    public static let headQuery: SQLQuery = "SELECT seq, hash FROM audit_records WHERE seq = (SELECT MAX(seq) FROM audit_records)"

    /// The last link: the newest record, else the checkpoint left by pruning, else the genesis.
    static func head(on connection: any DatabaseConnection) async throws -> (seq: Int64, hash: String) {
        if let last = try await connection.first(Self.headQuery) {
            return (try last.int("seq"), try last.string("hash"))
        }
        if let checkpoint = try await connection.first("SELECT through_seq, hash FROM audit_checkpoint WHERE id = 1") {
            return (try checkpoint.int("through_seq"), try checkpoint.string("hash"))
        }
        return (0, Self.genesis)
    }

    static func lock(_ connection: any DatabaseConnection) async throws {
        try await connection.hold(.auditChain)
    }

    static func chained(_ row: SQLRow) throws -> ChainedRecord {
        ChainedRecord(
            record: try JSONCoding.decode(AuditRecord.self, from: try row.string("body")), prevHash: try row.string("prev_hash"),
            hash: try row.string("hash"))
    }

    /// HMAC-SHA256 of `text` under the chain key, as hex.
    func mac(_ text: String) -> String {
        Hex.encode(HMAC<SHA256>.authenticationCode(for: Data(text.utf8), using: self.key))
    }

    /// The text a checkpoint's MAC covers.
    static func checkpointText(throughSeq: Int64, hash: String, prunedAt: Int64) -> String {
        "checkpoint:\(throughSeq):\(hash):\(prunedAt)"
    }
}
