import PortcullisCore
import Synchronization
import Testing

@Suite("withDeadline")
struct DeadlineTests {
    @Test("returns TimeoutError even when the operation ignores cancellation, and counts it abandoned until it ends")
    func abandonsStuckWork() async throws {
        let release = Mutex(false)
        // A counter of its own: other tests in this process abandon work of theirs meanwhile.
        let abandoned = AbandonedWork()
        await #expect(throws: TimeoutError.self) {
            try await withDeadline(.milliseconds(100), abandonWhen: { _ in }, countingIn: abandoned) {
                // Ignores cancellation: only the flag ends it.
                while !release.withLock({ $0 }) { await Self.pauseIgnoringCancellation() }
                return 1
            }
        }
        #expect(abandoned.running == 1, "the stuck operation is accounted for")
        release.withLock { $0 = true }
        let drained = await eventuallyTrue { abandoned.running == 0 }
        #expect(drained, "it is no longer counted once it has ended")
    }

    @Test("gives up at once when abandonWhen's callback is called, with its error, long before the deadline")
    func abandonWhen() async throws {
        struct ConnectionClosed: Error {}
        let release = Mutex(false)
        let trigger = Mutex<(@Sendable (any Error) -> Void)?>(nil)
        let outcome = Task {
            try await withDeadline(.seconds(3600), abandonWhen: { giveUp in trigger.withLock { $0 = giveUp } }, countingIn: AbandonedWork()) {
                while !release.withLock({ $0 }) { await Self.pauseIgnoringCancellation() }
                return 1
            }
        }
        #expect(await eventuallyTrue { trigger.withLock { $0 } != nil })
        trigger.withLock { $0 }?(ConnectionClosed())
        // Its error, not the deadline's (an hour away), while the operation still runs.
        await #expect(throws: ConnectionClosed.self) { try await outcome.value }
        release.withLock { $0 = true }
    }

    @Test("passes results and errors through when the operation is in time")
    func inTime() async throws {
        #expect(try await withDeadline(.seconds(10)) { 42 } == 42)
        struct Failure: Error {}
        await #expect(throws: Failure.self) { try await withDeadline(.seconds(10)) { throw Failure() } }
    }

    /// Waits 10 ms even in a cancelled task, as a call that ignores cancellation would. (`try? await
    /// Task.sleep` returns at once once cancelled: a loop of it would spin and hold one of the few
    /// cooperative threads until released, stalling every other test on a two-core machine.)
    static func pauseIgnoringCancellation() async {
        await Task.detached { try? await Task.sleep(for: .milliseconds(10)) }.value
    }

    func eventuallyTrue(_ condition: @Sendable () -> Bool) async -> Bool {
        for _ in 0..<500 {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return condition()
    }
}
