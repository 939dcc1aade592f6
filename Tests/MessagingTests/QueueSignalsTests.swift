import Messaging
import PortcullisCore
import Testing

@Suite("Queue wake-up signals")
struct QueueSignalsTests {
    @Test("a signal wakes a waiter long before its timeout")
    func wakes() async {
        let signals = QueueSignals()
        let generation = signals.generation(of: "q")
        async let woken: Void = signals.wait(queue: "q", unlessChangedFrom: generation, timeout: .seconds(600))
        // Keep signalling until the waiter has returned: a signal before it registered is caught by the generation.
        let task = Task {
            while !Task.isCancelled {
                signals.signal("q")
                try? await Task.sleep(for: .milliseconds(5))
            }
        }
        await woken
        task.cancel()
        #expect(signals.generation(of: "q") > generation)
    }

    @Test("a signal sent before the wait starts is not lost")
    func noLostWakeUp() async {
        let signals = QueueSignals()
        let generation = signals.generation(of: "q")
        signals.signal("q")
        // Returns at once: the wait's own timeout is ten minutes, so only the signal can end it within the deadline.
        await #expect(throws: Never.self) {
            try await withDeadline(.seconds(30)) {
                await signals.wait(queue: "q", unlessChangedFrom: generation, timeout: .seconds(600))
            }
        }
    }

    @Test("\"*\" wakes waiters of every queue")
    func wildcard() async {
        let signals = QueueSignals()
        let generation = signals.generation(of: "any")
        signals.signal("*")
        await signals.wait(queue: "any", unlessChangedFrom: generation, timeout: .seconds(600))
        #expect(signals.generation(of: "any") != generation)
    }

    @Test("a signal for another queue does not wake the waiter")
    func otherQueue() async {
        let signals = QueueSignals()
        let generation = signals.generation(of: "a")
        signals.signal("b")
        #expect(signals.generation(of: "a") == generation)
        // Times out (quickly) rather than waking.
        await signals.wait(queue: "a", unlessChangedFrom: generation, timeout: .milliseconds(20))
    }
}
