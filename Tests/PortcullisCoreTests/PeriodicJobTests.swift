import Logging
import PortcullisCore
import ServiceLifecycle
import Synchronization
import Testing

@Suite("PeriodicJob")
struct PeriodicJobTests {
    final class Runs: Sendable {
        let count = Mutex(0)
        let failUntil: Int

        init(failUntil: Int) {
            self.failUntil = failUntil
        }

        struct Failure: Error {}

        func run() throws {
            let run = self.count.withLock { count in
                count += 1
                return count
            }
            if run <= self.failUntil { throw Failure() }
        }
    }

    static let logger = Logger(label: "tests") { _ in SwiftLogNoOpLogHandler() }

    @Test("runs after its first delay, every interval after that, retries a failed run, and stops at shutdown")
    func runsAndStops() async throws {
        let runs = Runs(failUntil: 2)
        // The interval is an hour: only the retries (10 ms after a failure) and the first run can happen in this test.
        let job = PeriodicJob(name: "test", every: .seconds(3600), firstAfter: .milliseconds(10), retryAfter: .milliseconds(10), logger: Self.logger)
        {
            try runs.run()
        }
        let group = ServiceGroup(configuration: .init(services: [.init(service: job)], logger: Self.logger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            // Two failures, each retried, then one success; then the hour-long wait.
            var settled = false
            for _ in 0..<500 where !settled {
                settled = runs.count.withLock { $0 } == 3
                try await Task.sleep(for: .milliseconds(10))
            }
            #expect(settled)
            try await Task.sleep(for: .milliseconds(100))
            #expect(runs.count.withLock { $0 } == 3, "after a success it waits the interval, not the retry delay")
            // Shutdown ends the hour-long wait at once.
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }
}
