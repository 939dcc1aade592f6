public import Crypto
import Foundation
public import GatewayKit
public import PortcullisCore
public import Storage

/// The hash chain of audit records: each record's `hash` is HMAC-SHA256 under the audit key of its
/// canonical text followed by the previous record's hash, and `seq` counts up without gaps.
///
/// Appends take a chain-wide lock (a PostgreSQL transaction-scoped advisory lock; SQLite's single writer),
/// so replicas appending at once still produce one gap-free chain. On SQLite a batch of decisions may
/// instead be one statement that checks the head it links to (``append(decisions:)``).
public struct AuditChain: DecisionLog {
    public let database: any Database
    /// HMAC-SHA256 keyed with the chain key (which is kept only in it): each MAC starts from a copy, so the
    /// key's two pad blocks are hashed once, not once per record.
    let keyed: HMAC<SHA256>
    /// Digests of permission sets known to be stored: each set is written once, not with every record.
    let storedSets = StoredPermissionSets()
    /// The last link this process appended decisions after, for the one-statement append.
    let lastLink = ChainHead()

    /// The `prevHash` of the first record ever appended.
    public static let genesis = String(repeating: "0", count: 64)

    /// - Parameter key: the chain key, derived from the master key (`masterKey.derived(for: "audit-chain")`).
    public init(database: any Database, key: SymmetricKey) {
        self.database = database
        self.keyed = HMAC<SHA256>(key: key)
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

    /// Appends records built ahead (the gateway's decisions) in order, all or none. They are new records
    /// (fresh ids, never redelivered), so no id is looked up first, and each record's text only gets its
    /// `seq` put in before it is hashed.
    ///
    /// On SQLite usually one statement: after the last batch this process appended, the next is linked to the
    /// head it remembers, and the statement inserts only while that head is still the chain's last record
    /// (see ``appendAfterKnownHead(_:)``). Otherwise (the first batch, another writer appended, a permission
    /// set to store first, a batch too large for one statement), and always on PostgreSQL, it is one
    /// transaction under the chain lock that reads the head. (On PostgreSQL a statement outside that lock
    /// would race the appenders holding it: their inserts would fail on the key and be retried.)
    public func append(decisions records: [PreparedRecord]) async throws {
        guard !records.isEmpty else { return }
        let newSets = self.storedSets.unknown(in: records.compactMap(\.permissionSet))
        if self.database.dialect == .sqlite, newSets.isEmpty, records.count <= Self.insertChunk, try await self.appendAfterKnownHead(records) {
            return
        }
        let last = try await self.database.transaction { connection in
            try await Self.lock(connection)
            try await Self.store(newSets, at: records[0].createdMilliseconds, on: connection)
            var head = try await Self.head(on: connection)
            var start = records.startIndex
            while start < records.endIndex {
                let end = min(start + Self.insertChunk, records.endIndex)
                var query: SQLQuery = "INSERT INTO audit_records (\(unsafe: Self.columns)) VALUES "
                head = self.appendRows(records[start..<end], after: head, to: &query)
                try await connection.execute(query)
                start = end
            }
            return head
        }
        self.storedSets.remember(newSets)
        self.lastLink.remember(last)
    }

    /// Appends `records` in one statement after the head this process last appended, if that is still the
    /// chain's last record: false (nothing written) when there is no such head or it is not the last any more.
    ///
    /// SQLite only: the statement is a write, so it runs between other writers' transactions, never inside
    /// one (one writing connection per process, lent to one caller at a time; one write lock per file). Its condition reads the head it links to
    /// and finds nothing after it, so a writer that appended meanwhile (the bus consumer's records, another
    /// process) or pruning makes it insert nothing; `seq` is the primary key besides. Either way it falls
    /// back to the locked path, which reads the head.
    func appendAfterKnownHead(_ records: [PreparedRecord]) async throws -> Bool {
        guard let known = self.lastLink.known else { return false }
        var query: SQLQuery = "INSERT INTO audit_records (\(unsafe: Self.columns)) SELECT * FROM (VALUES "
        let last = self.appendRows(records[...], after: known, to: &query)
        query.append(") AS batch WHERE \(Self.stillLast(known)) RETURNING seq")
        do {
            let inserted = try await self.database.query(query)
            guard inserted.count == records.count else {
                self.lastLink.forget()
                return false
            }
        } catch StorageError.uniqueViolation {
            self.lastLink.forget()
            return false
        }
        self.lastLink.remember(last)
        return true
    }

    /// True while `link` is the chain's last record: two searches in the primary key.
    public static func stillLast(_ link: (seq: Int64, hash: String)) -> SQLQuery {
        """
        EXISTS (SELECT 1 FROM audit_records WHERE seq = \(link.seq) AND hash = \(link.hash))
        AND NOT EXISTS (SELECT 1 FROM audit_records WHERE seq > \(link.seq))
        """
    }

    /// Appends the `VALUES` rows of `records`, linked one after the other from `head`, to `query`; returns the
    /// last link.
    private func appendRows(
        _ records: ArraySlice<PreparedRecord>, after head: (seq: Int64, hash: String), to query: inout SQLQuery
    ) -> (seq: Int64, hash: String) {
        var head = head
        for (index, record) in records.enumerated() {
            let seq = head.seq + 1
            let body = record.body(seq: seq)
            let hash = self.linkHash(of: body, after: head.hash)
            query.append(
                """
                \(unsafe: index == 0 ? "" : ", ")(\(seq), \(record.id), \(record.createdMilliseconds), \(record.name), \(record.serviceName),
                \(record.requestID), \(record.outcome), \(record.actorSub), \(record.tenant), NULL, \(body), \(head.hash), \(hash))
                """
            )
            head = (seq, hash)
        }
        return head
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
        let hash = self.linkHash(of: body, after: head.hash)
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
        self.keyedMAC(text, then: nil)
    }

    /// A record's hash: the MAC of its stored text followed by the previous record's hash (the same as
    /// `mac(body + previousHash)`, without joining them first).
    /// It reads the text's own UTF-8, the bytes stored, so the two cannot differ.
    func linkHash(of body: String, after previousHash: String) -> String {
        self.keyedMAC(body, then: previousHash)
    }

    /// The MAC of `first`'s UTF-8 followed by `second`'s, from a copy of the keyed state.
    private func keyedMAC(_ first: String, then second: String?) -> String {
        var hmac = self.keyed
        var first = first
        first.withUTF8 { hmac.update(data: UnsafeRawBufferPointer($0)) }
        if var second {
            second.withUTF8 { hmac.update(data: UnsafeRawBufferPointer($0)) }
        }
        return hmac.finalize().withUnsafeBytes { Hex.encode(raw: $0) }
    }

    /// The text a checkpoint's MAC covers.
    static func checkpointText(throughSeq: Int64, hash: String, prunedAt: Int64) -> String {
        "checkpoint:\(throughSeq):\(hash):\(prunedAt)"
    }
}
