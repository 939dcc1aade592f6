import AuditLog
import Foundation
import GatewayKit
import Hummingbird
import Messaging
import Metrics
import PortcullisCore
public import Prometheus
import Synchronization

/// `GET /metrics`: the Prometheus text exposition of `registry` (the one `serve` bootstraps swift-metrics
/// with), for callers with `metrics.read` (the rule in `policies/routes.yaml`; each scrape is a recorded
/// decision like any request). The figures that live in the database (audit lag, queue depths, dead
/// letters) are read at scrape time, once per scrape, and set as gauges before the text is written.
final class MetricsRoute: Sendable {
    let registry: PrometheusCollectorRegistry
    let store: MessageStore
    let clock: WallClock
    let timeout: Duration
    /// The queues the last scrape reported.
    let queues = Mutex<Set<String>>([])

    init(registry: PrometheusCollectorRegistry, store: MessageStore, clock: WallClock, timeout: Duration) {
        self.registry = registry
        self.store = store
        self.clock = clock
        self.timeout = timeout
    }

    func register(on routes: RouteRegistry) {
        routes.read("/metrics") { _, _ in
            try await self.sample()
            var buffer: [UInt8] = []
            buffer.reserveCapacity(16 * 1024)
            self.registry.emit(into: &buffer)
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: buffer)))
        }
    }

    /// Sets the gauges read from the database; a database that does not answer in time is a 503, never stale figures.
    private func sample() async throws {
        let now = self.clock.now
        let (stats, deadLetters) = try await withDeadline(self.timeout) { [store] in
            (try await store.stats(), try await store.deadLetters(offset: 0, limit: 1).total)
        }
        // Queues come and go with flows: a queue that is gone leaves the exposition instead of a stale figure.
        let current = Set(stats.map(\.queue))
        let gone = self.queues.withLock { seen in
            defer { seen = current }
            return seen.subtracting(current)
        }
        for queue in gone {
            self.registry.unregisterGauge(self.registry.makeGauge(name: "portcullis_queue_depth", labels: [("queue", queue)]))
            self.registry.unregisterGauge(self.registry.makeGauge(name: "portcullis_queue_lag_seconds", labels: [("queue", queue)]))
        }
        for queue in stats {
            let labels = [("queue", queue.queue)]
            self.registry.makeGauge(name: "portcullis_queue_depth", labels: labels).set(Double(queue.depth))
            self.registry.makeGauge(name: "portcullis_queue_lag_seconds", labels: labels).set(queue.lagSeconds(at: now))
        }
        let audit = stats.first { $0.queue == DatabaseEventBus.queueName(group: AuditLog.group) }
        self.registry.makeGauge(name: "portcullis_audit_lag_seconds").set(audit?.lagSeconds(at: now) ?? 0)
        self.registry.makeGauge(name: "portcullis_audit_pending").set(Double(audit?.depth ?? 0))
        self.registry.makeGauge(name: "portcullis_dead_letters").set(Double(deadLetters))
    }
}

/// The request path's figures, through swift-metrics (a no-op until `serve` bootstraps a backend).
enum GatewayMetrics {
    /// One answered request: counted by its route rule and status, its time in the latency histogram.
    static func request(rule: String, status: Int, since start: ContinuousClock.Instant) {
        self.counter("portcullis_requests_total", [("rule", rule), ("status", String(status))]).increment()
        self.timer("portcullis_request_duration_seconds", [("rule", rule)]).recordInterval(since: start)
    }

    /// One recorded decision, by stage, outcome and reason.
    static func decision(stage: String, outcome: String, reason: String) {
        self.counter("portcullis_decisions_total", [("stage", stage), ("outcome", outcome), ("reason", reason)]).increment()
    }

    /// One group commit of the decision journal: how many records, how long it took, whether it failed.
    static func decisionBatch(size: Int, since start: ContinuousClock.Instant, failed: Bool) {
        Recorder(label: "portcullis_decision_batch_size", aggregate: true).record(size)
        self.timer("portcullis_decision_commit_seconds", [("result", failed ? "failed" : "committed")]).recordInterval(since: start)
    }

    /// The handles of the request path's metrics, made once per label and dimension values: a lookup here is
    /// cheaper than the backend's own (label lists built and hashed under its lock) on every request and
    /// record. Dimension values are rule ids, statuses, stages, outcomes and reasons, all from the policy
    /// files or the code, so the tables stay small. `serve` bootstraps the backend before the first request,
    /// so no handle is made against the no-op default.
    private static let counters = Mutex<[HandleKey: Metrics.Counter]>([:])
    private static let timers = Mutex<[HandleKey: Metrics.Timer]>([:])

    private struct HandleKey: Hashable {
        let label: String
        let values: [String]
    }

    private static func counter(_ label: String, _ dimensions: [(String, String)]) -> Metrics.Counter {
        self.handle(in: self.counters, label, dimensions) { Counter(label: label, dimensions: dimensions) }
    }

    private static func timer(_ label: String, _ dimensions: [(String, String)]) -> Metrics.Timer {
        self.handle(in: self.timers, label, dimensions) { Timer(label: label, dimensions: dimensions) }
    }

    /// The handle of `label` with these dimension values from `cache`, made once.
    private static func handle<Handle: Sendable>(
        in cache: borrowing Mutex<[HandleKey: Handle]>, _ label: String, _ dimensions: [(String, String)], make: () -> Handle
    ) -> Handle {
        cache.withLock { handles in
            let key = HandleKey(label: label, values: dimensions.map(\.1))
            if let found = handles[key] { return found }
            let made = make()
            handles[key] = made
            return made
        }
    }
}

extension Timer {
    func recordInterval(since start: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - start
        self.recordNanoseconds(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
    }
}
