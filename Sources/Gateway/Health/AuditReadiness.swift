import AuditLog
import Foundation
public import GatewayKit
public import Messaging
public import Policy
public import PortcullisCore
public import Storage

/// The audit pipeline: the decision journal runs (else every request is refused with 503), and how far
/// the audit log's consumer is behind.
public struct AuditReadiness: ReadinessCheck {
    public let name = "audit"
    let journal: DecisionJournal
    let store: MessageStore
    let clock: WallClock
    /// Audit lag past which the replica reports not ready (`PORTCULLIS_AUDIT_MAX_LAG`).
    let maxLag: Duration
    /// How long reading the audit queue may take (`PORTCULLIS_DATABASE_TIMEOUT`).
    let timeout: Duration

    public init(journal: DecisionJournal, store: MessageStore, clock: WallClock, maxLag: Duration = .seconds(30), timeout: Duration = .seconds(5)) {
        self.timeout = timeout
        self.journal = journal
        self.clock = clock
        self.store = store
        self.maxLag = maxLag
    }

    /// Fails when the journal is not running, when the bus cannot be read, or when the oldest record
    /// waiting for the chain is older than `maxLag` (the audit consumer is stuck or far behind); passes
    /// again by itself once it has caught up.
    public func check() async -> ReadinessResult {
        guard self.journal.isAccepting else { return ReadinessResult(ready: false, info: ["problem": "the decision journal is not running"]) }
        guard let stats = try? await withDeadline(self.timeout, { [store] in try await store.stats() }) else {
            return ReadinessResult(ready: false, info: ["problem": "the audit queue cannot be read"])
        }
        guard let queue = stats.first(where: { $0.queue == DatabaseEventBus.queueName(group: AuditLog.group) }) else {
            return ReadinessResult(ready: true)
        }
        let lag = queue.lagSeconds(at: self.clock.now)
        let limit = Double(self.maxLag.components.seconds)
        var info: [String: JSONValue] = ["pending": .int(Int64(queue.depth)), "lagSeconds": .double(lag), "maxLagSeconds": .double(limit)]
        if lag > limit { info["problem"] = .string("audit records wait longer than \(Int(limit)) s for the chain") }
        return ReadinessResult(ready: lag <= limit, info: info)
    }
}
