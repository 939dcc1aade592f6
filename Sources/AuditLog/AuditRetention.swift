public import Foundation
public import Logging
public import PortcullisCore
public import ServiceLifecycle
import Storage

extension AuditChain {
    /// Deletes the oldest records, those created before `cutoff`, and keeps the rest verifiable.
    ///
    /// Only a prefix of the chain is removed (every record up to the first one that is not older than the
    /// cutoff), so the remaining records stay contiguous. The last removed record's `seq` and `hash` are
    /// kept in an HMAC-signed checkpoint that verification starts from, and the pruning itself is appended to
    /// the chain as an `audit.log.pruned` record.
    ///
    /// - Returns: how many records were removed.
    @discardableResult
    public func prune(before cutoff: Date, now: Date) async throws -> Int {
        let cutoffMilliseconds = Timestamp.milliseconds(cutoff)
        return try await self.database.transaction { connection in
            try await Self.lock(connection)
            let firstKept = try await connection.first("SELECT MIN(seq) AS seq FROM audit_records WHERE created_ms >= \(cutoffMilliseconds)")
            let through: Int64
            if let seq = try firstKept?.optionalInt("seq") {
                through = seq - 1
            } else if let last = try await connection.first("SELECT MAX(seq) AS seq FROM audit_records"), let seq = try last.optionalInt("seq") {
                through = seq
            } else {
                return 0
            }
            guard let last = try await connection.first("SELECT hash FROM audit_records WHERE seq = \(through)") else { return 0 }
            let hash = try last.string("hash")
            let count =
                try await connection.first("SELECT COUNT(*) AS total FROM audit_records WHERE seq <= \(through)").map { try $0.int("total") } ?? 0
            let prunedAt = Timestamp.milliseconds(now)
            let mac = self.mac(Self.checkpointText(throughSeq: through, hash: hash, prunedAt: prunedAt))
            try await connection.execute("DELETE FROM audit_checkpoint")
            try await connection.execute(
                "INSERT INTO audit_checkpoint (id, through_seq, hash, pruned_at, mac) VALUES (1, \(through), \(hash), \(prunedAt), \(mac))"
            )
            try await connection.execute("DELETE FROM audit_records WHERE seq <= \(through)")
            let record = AuditRecord(
                id: TimeOrderedID.uuidString(at: now), createdAt: Timestamp.format(now), name: "audit.log.pruned", serviceName: "audit",
                payload: ["throughSeq": .int(through), "count": .int(count), "cutoff": .string(Timestamp.format(cutoff))]
            )
            _ = try await self.append(record, on: connection)
            return Int(count)
        }
    }
}

/// Prunes records older than the retention period: shortly after start-up (once migrations have run),
/// then every `interval`; after a failure it tries again within a minute.
public struct AuditRetention: Service {
    let chain: AuditChain
    let retention: Duration
    let interval: Duration
    let clock: WallClock
    let logger: Logger

    public init(chain: AuditChain, retention: Duration, interval: Duration = .seconds(3600), clock: WallClock, logger: Logger) {
        self.clock = clock
        self.chain = chain
        self.retention = retention
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        let chain = self.chain
        let retention = self.retention
        let logger = self.logger
        let clock = self.clock
        // Shortly after start-up (migrations have run by then), then every interval.
        try await PeriodicJob(name: "audit retention", every: self.interval, firstAfter: .seconds(10), logger: logger) {
            let now = clock.now
            let removed = try await chain.prune(before: now.addingTimeInterval(-Double(retention.components.seconds)), now: now)
            if removed > 0 {
                logger.notice("pruned audit records past retention", metadata: ["count": .stringConvertible(removed)])
            }
        }.run()
    }
}
