public import GatewayKit
public import Logging
import PortcullisCore
import Synchronization

/// Logs each change of readiness: which checks started failing (and the problem each reports), and when
/// every check passes again.
///
/// The details of `/health/ready` are shown only to a caller holding `metrics.read`, under a recorded
/// decision, which cannot be written while the database is away; the log is where an operator reads which
/// check failed during an outage. Only changes are logged, so a probe polling a failing replica every
/// second does not flood the log.
public final class ReadinessTransitions: Sendable {
    private let logger: Logger
    private let failing = Mutex<Set<String>>([])

    public init(logger: Logger) {
        self.logger = logger
    }

    /// Takes the results of one readiness run; logs when the set of failing checks differs from the last run's.
    public func observe(_ results: [String: ReadinessResult]) {
        let failed = Set(results.filter { !$0.value.ready }.keys)
        let before = self.failing.withLock { failing in
            defer { failing = failed }
            return failing
        }
        guard failed != before else { return }
        if failed.isEmpty {
            self.logger.notice("readiness passes again", metadata: ["readiness.recovered": "\(before.sorted().joined(separator: ","))"])
            return
        }
        let problems = failed.sorted().map { name in
            let problem = results[name]?.info["problem"]?.stringValue
            return problem.map { "\(name): \($0)" } ?? name
        }
        self.logger.warning(
            "readiness fails; this replica answers 503 to /health/ready",
            metadata: ["readiness.failed": "\(failed.sorted().joined(separator: ","))", "readiness.problems": "\(problems.joined(separator: "; "))"])
    }
}
