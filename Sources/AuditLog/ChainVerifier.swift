import PortcullisCore
import Storage

/// The result of walking the chain: `GET /logs/verify` answers it, `portcullis audit verify` prints it.
public struct ChainVerification: Sendable, Hashable, Codable {
    public let ok: Bool
    /// How many records were checked.
    public let records: Int
    /// The first `seq` at which the chain is broken; nil when it is intact.
    public let firstBadSeq: Int64?
    /// What is wrong there, for operators.
    public let problem: String?
}

extension AuditChain {
    /// Walks every stored record in `seq` order from the checkpoint (or the genesis) and checks that seqs
    /// have no gaps, each `prevHash` is its predecessor's hash, each record's stored columns match its
    /// canonical text, and each hash is the HMAC of that text and `prevHash`.
    public func verify(pageSize: Int = 500) async throws -> ChainVerification {
        var expectedSeq: Int64 = 1
        var expectedPrevious = Self.genesis
        var checked = 0
        func broken(_ seq: Int64, _ problem: String) -> ChainVerification {
            ChainVerification(ok: false, records: checked, firstBadSeq: seq, problem: problem)
        }
        if let checkpoint = try await self.database.first("SELECT through_seq, hash, pruned_at, mac FROM audit_checkpoint WHERE id = 1") {
            let through = try checkpoint.int("through_seq")
            let hash = try checkpoint.string("hash")
            let text = Self.checkpointText(throughSeq: through, hash: hash, prunedAt: try checkpoint.int("pruned_at"))
            guard Hex.constantTimeEquals(self.mac(text), try checkpoint.string("mac")) else {
                return broken(through + 1, "the checkpoint left by pruning is not authentic")
            }
            expectedSeq = through + 1
            expectedPrevious = hash
        }
        while true {
            let rows = try await self.database.query(
                """
                SELECT seq, id, created_ms, name, service_name, request_id, outcome, actor_sub, tenant, origin, body, prev_hash, hash
                FROM audit_records WHERE seq >= \(expectedSeq) ORDER BY seq LIMIT \(Int64(pageSize))
                """
            )
            if rows.isEmpty { break }
            for row in rows {
                let seq = try row.int("seq")
                guard seq == expectedSeq else { return broken(expectedSeq, "record \(expectedSeq) is missing") }
                let body = try row.string("body")
                let prevHash = try row.string("prev_hash")
                guard Hex.constantTimeEquals(prevHash, expectedPrevious) else {
                    return broken(seq, "prevHash is not the hash of the record before")
                }
                guard Hex.constantTimeEquals(self.linkHash(of: body, after: prevHash), try row.string("hash")) else {
                    return broken(seq, "the hash does not match the record")
                }
                guard let record = try? JSONCoding.decode(AuditRecord.self, from: body), try Self.columnsMatch(row, record) else {
                    return broken(seq, "the stored columns differ from the hashed record")
                }
                checked += 1
                expectedSeq = seq + 1
                expectedPrevious = try row.string("hash")
            }
        }
        return ChainVerification(ok: true, records: checked, firstBadSeq: nil, problem: nil)
    }

    /// Whether the columns that filters read say what the hashed record says.
    static func columnsMatch(_ row: SQLRow, _ record: AuditRecord) throws -> Bool {
        try row.int("seq") == record.seq && row.string("id") == record.id && row.string("name") == record.name
            && row.string("service_name") == record.serviceName && row.optionalString("request_id") == record.requestID
            && row.optionalString("outcome") == record.outcome && row.optionalString("actor_sub") == record.actor?.sub
            && row.optionalString("origin") == record.origin
            && row.optionalString("tenant") == record.tenant && row.int("created_ms") == record.createdMilliseconds
    }
}
