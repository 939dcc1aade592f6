import Foundation
public import GatewayKit
public import Logging
public import PortcullisCore
public import ServiceLifecycle
import Synchronization

/// Keeps the gateway's background services running: a service whose `run()` ends before shutdown (it
/// threw, or it returned) is logged and started again with backoff, never silently gone, and
/// ``ServicesReadiness`` reports it by name until it runs again.
///
/// ```swift
/// let supervisor = Supervisor(logger: logger)
/// let services = [database] + [consumer, listener].map { supervisor.supervise($0) }
/// ```
public final class Supervisor: Sendable {
    /// What one supervised service is doing.
    public struct Status: Sendable, Equatable {
        public var running: Bool
        /// How many times it ended by itself and was started again.
        public var restarts: Int
        /// Why it last ended, when it ended by itself.
        public var lastFailure: String?

        public init(running: Bool, restarts: Int, lastFailure: String? = nil) {
            self.running = running
            self.restarts = restarts
            self.lastFailure = lastFailure
        }
    }

    let logger: Logger
    /// Delays between restarts in a row.
    let backoff: Backoff
    /// A run that lasted this long counts as healthy: the next restart starts the backoff again.
    let healthyAfter: Duration
    private let statuses = Mutex<[String: Status]>([:])

    public init(
        backoff: Backoff = Backoff(initial: .milliseconds(200), maximum: .seconds(30)), healthyAfter: Duration = .seconds(60), logger: Logger
    ) {
        self.backoff = backoff
        self.healthyAfter = healthyAfter
        self.logger = logger
    }

    /// `service` under supervision, reported as `name` (its type name by default; a name already in use
    /// gets a `#2`, `#3`... suffix, so two services never share a status).
    public func supervise(_ service: any Service, name: String? = nil) -> any Service {
        let requested = name ?? String(describing: type(of: service))
        let name = self.statuses.withLock { statuses in
            var name = requested
            var number = 1
            while statuses[name] != nil {
                number += 1
                name = "\(requested)#\(number)"
            }
            // Counted as running until it is known to have stopped: readiness reports failures, not start-up.
            statuses[name] = Status(running: true, restarts: 0)
            return name
        }
        return SupervisedService(name: name, service: service, supervisor: self)
    }

    /// Every supervised service by name.
    public var snapshot: [String: Status] {
        self.statuses.withLock { $0 }
    }

    func update(_ name: String, _ change: (inout Status) -> Void) {
        self.statuses.withLock { statuses in
            var status = statuses[name] ?? Status(running: false, restarts: 0)
            change(&status)
            statuses[name] = status
        }
    }
}

/// One service under a ``Supervisor``.
struct SupervisedService: Service {
    let name: String
    let service: any Service
    let supervisor: Supervisor

    private var stopping: Bool { Task.isShuttingDownGracefully || Task.isCancelled }

    func run() async throws {
        let clock = ContinuousClock()
        var failures = 0
        let logger = self.supervisor.logger
        while true {
            self.supervisor.update(self.name) { $0.running = true }
            let started = clock.now
            var failure: String
            do {
                try await self.service.run()
                failure = "it returned before shutdown"
            } catch let error as any UnrecoverableError {
                // A programming or configuration error: restarting cannot fix it, and must not hide it.
                self.supervisor.update(self.name) {
                    $0.running = false
                    $0.lastFailure = "\(error)"
                }
                logger.critical(
                    "background service failed with an error that restarting cannot fix; it stays stopped",
                    metadata: ["service": .string(self.name), "error": "\(error)"])
                try? await gracefulShutdown()
                return
            } catch {
                failure = "\(error)"
            }
            if self.stopping {
                self.supervisor.update(self.name) { $0.running = false }
                return
            }
            failures = started.duration(to: clock.now) >= self.supervisor.healthyAfter ? 1 : failures + 1
            let delay = self.supervisor.backoff.delay(afterFailures: failures)
            self.supervisor.update(self.name) {
                $0.running = false
                $0.restarts += 1
                $0.lastFailure = failure
            }
            logger.error(
                "background service stopped; restarting it",
                metadata: ["service": .string(self.name), "error": .string(failure), "restart.in": "\(delay)", "failures": "\(failures)"])
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: delay) }
            if self.stopping {
                return
            }
        }
    }
}
