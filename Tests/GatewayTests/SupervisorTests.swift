import Gateway
import GatewayKit
import GatewayTestSupport
import Logging
import PortcullisCore
import ServiceLifecycle
import Synchronization
import TestSupport
import Testing

@Suite("Supervision of background services")
struct SupervisorTests {
    /// Fails its first `failures` runs (throwing, or returning when `returns`), then runs until shutdown.
    final class Flaky: Service, Sendable {
        let failures: Int
        let returns: Bool
        let runs = Mutex(0)

        init(failures: Int, returns: Bool = false) {
            self.failures = failures
            self.returns = returns
        }

        struct Broke: Error, CustomStringConvertible {
            var description: String { "lost the connection" }
        }

        func run() async throws {
            let run = self.runs.withLock { runs in
                runs += 1
                return runs
            }
            if run <= self.failures {
                if self.returns { return }
                throw Broke()
            }
            try? await gracefulShutdown()
        }
    }

    static let fast = Backoff(initial: .milliseconds(10), maximum: .milliseconds(40))

    @Test("a service that throws or returns is logged, restarted with backoff, and runs again; shutdown stops it for good")
    func restarts() async throws {
        let supervisor = Supervisor(backoff: Self.fast, logger: TestDatabases.logger)
        let throwing = Flaky(failures: 3)
        let returning = Flaky(failures: 2, returns: true)
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: supervisor.supervise(throwing, name: "throwing")), .init(service: supervisor.supervise(returning))],
                logger: TestDatabases.logger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let settled = await eventually {
                throwing.runs.withLock { $0 } == 4 && returning.runs.withLock { $0 } == 3
            }
            #expect(settled)
            let statuses = supervisor.snapshot
            #expect(statuses["throwing"] == .init(running: true, restarts: 3, lastFailure: "lost the connection"))
            #expect(statuses["Flaky"] == .init(running: true, restarts: 2, lastFailure: "it returned before shutdown"))
            #expect(await ServicesReadiness(supervisor: supervisor).check().ready)
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        #expect(throwing.runs.withLock { $0 } == 4, "a service that ends at shutdown is not restarted")
        #expect(supervisor.snapshot["throwing"]?.running == false)
    }

    @Test("readiness names a stopped service and why, until it runs again")
    func readinessWhileStopped() async throws {
        let supervisor = Supervisor(backoff: Backoff(initial: .seconds(3600), maximum: .seconds(3600)), logger: TestDatabases.logger)
        let service = Flaky(failures: 1)
        let group = ServiceGroup(
            configuration: .init(services: [.init(service: supervisor.supervise(service, name: "audit-consumer"))], logger: TestDatabases.logger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            #expect(try await eventually { supervisor.snapshot["audit-consumer"]?.running == false })
            let result = await ServicesReadiness(supervisor: supervisor).check()
            #expect(!result.ready)
            #expect(result.info["stopped"] == ["audit-consumer"])
            #expect(result.info["problem"] == "audit-consumer is not running (lost the connection)")
            #expect(result.info["restarts"] == 1)
            // Shutdown ends the backoff wait at once: the test would otherwise wait an hour.
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        #expect(service.runs.withLock { $0 } == 1)
    }

    /// Fails with an error that restarting cannot fix.
    final class Misconfigured: Service, Sendable {
        struct BadGroup: UnrecoverableError, CustomStringConvertible {
            var description: String { "invalid group name 'Bad Group'" }
        }
        let runs = Mutex(0)

        func run() async throws {
            self.runs.withLock { $0 += 1 }
            throw BadGroup()
        }
    }

    @Test("an unrecoverable error is not restarted: the service stays stopped and readiness keeps saying why; names stay unique")
    func unrecoverable() async throws {
        let supervisor = Supervisor(backoff: Self.fast, logger: TestDatabases.logger)
        let broken = Misconfigured()
        let services = [supervisor.supervise(broken, name: "consumer"), supervisor.supervise(Flaky(failures: 0), name: "consumer")]
        #expect(Set(supervisor.snapshot.keys) == ["consumer", "consumer#2"])
        let group = ServiceGroup(configuration: .init(services: services.map { .init(service: $0) }, logger: TestDatabases.logger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            #expect(await eventually { supervisor.snapshot["consumer"]?.running == false })
            // Well past several backoff periods: still one run, still failing readiness.
            try await Task.sleep(for: .milliseconds(300))
            #expect(broken.runs.withLock { $0 } == 1)
            let result = await ServicesReadiness(supervisor: supervisor).check()
            #expect(!result.ready)
            #expect(result.info["stopped"] == ["consumer"])
            #expect(result.info["problem"] == "consumer is not running (invalid group name 'Bad Group')")
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }

    /// Fails its first `failures` runs at once, noting when each run started; then runs until shutdown.
    final class Timed: Service, Sendable {
        let failures: Int
        let starts = Mutex<[ContinuousClock.Instant]>([])

        init(failures: Int) { self.failures = failures }

        func run() async throws {
            let run = self.starts.withLock { starts in
                starts.append(.now)
                return starts.count
            }
            if run <= self.failures { throw Flaky.Broke() }
            try? await gracefulShutdown()
        }
    }

    @Test("each restart waits out its backoff (doubling) and is logged as an error naming the service and the failure")
    func waitsAndLogs() async throws {
        let capture = CapturedLog()
        let supervisor = Supervisor(
            backoff: Backoff(initial: .milliseconds(200), maximum: .seconds(1)), logger: capture.logger)
        let service = Timed(failures: 2)
        let group = ServiceGroup(
            configuration: .init(services: [.init(service: supervisor.supervise(service, name: "timed"))], logger: TestDatabases.logger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            #expect(await eventually { service.starts.withLock { $0.count } == 3 })
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        let starts = service.starts.withLock { $0 }
        try #require(starts.count == 3)
        // Lower bounds only: a loaded machine may restart later, never sooner.
        #expect(starts[0].duration(to: starts[1]) >= .milliseconds(200))
        #expect(starts[1].duration(to: starts[2]) >= .milliseconds(400))
        let restarts = capture.lines.filter { $0.message == "background service stopped; restarting it" }
        #expect(restarts.count == 2)
        #expect(restarts.allSatisfy { $0.level == .error && $0.metadata["service"] == "timed" && $0.metadata["error"] == "lost the connection" })
        #expect(restarts.map { $0.metadata["restart.in"] } == ["0.2 seconds", "0.4 seconds"])
    }

    @Test("backoff doubles from the initial delay up to the maximum")
    func backoff() {
        let backoff = Backoff(initial: .milliseconds(200), maximum: .seconds(30))
        #expect(backoff.delay(afterFailures: 1) == .milliseconds(200))
        #expect(backoff.delay(afterFailures: 2) == .milliseconds(400))
        #expect(backoff.delay(afterFailures: 8) == .milliseconds(25_600))
        #expect(backoff.delay(afterFailures: 9) == .seconds(30))
        #expect(backoff.delay(afterFailures: 500) == .seconds(30))
    }
}
