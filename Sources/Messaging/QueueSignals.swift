import Synchronization

/// Wakes waiters when a queue may have new messages.
///
/// Each queue has a generation counter. A consumer reads the generation, then tries to claim, then waits
/// "unless the generation moved": a signal that arrives between the claim and the wait is never lost.
public final class QueueSignals: Sendable {
    private enum Waiter {
        case waiting(CheckedContinuation<Void, Never>)
        case finished
    }

    private struct State {
        var generations: [String: UInt64] = [:]
        var globalGeneration: UInt64 = 0
        var waiters: [String: [UInt64: Waiter]] = [:]
        /// The last waiter's id: ids only need to be distinct within this process.
        var lastWaiterID: UInt64 = 0
    }

    private let state = Mutex(State())

    public init() {}

    /// The current generation of `queue`; pass it to ``wait(queue:unlessChangedFrom:timeout:)``.
    public func generation(of queue: String) -> UInt64 {
        self.state.withLock { $0.generations[queue, default: 0] &+ $0.globalGeneration }
    }

    /// Wakes the waiters of `queue`; `"*"` wakes everyone.
    public func signal(_ queue: String) {
        let continuations = self.state.withLock { state -> [CheckedContinuation<Void, Never>] in
            let names: [String]
            if queue == "*" {
                state.globalGeneration &+= 1
                names = Array(state.waiters.keys)
            } else {
                state.generations[queue, default: 0] &+= 1
                names = [queue]
            }
            var resumed: [CheckedContinuation<Void, Never>] = []
            for name in names {
                for (id, waiter) in state.waiters[name] ?? [:] {
                    if case .waiting(let continuation) = waiter { resumed.append(continuation) }
                    state.waiters[name]?[id] = .finished
                }
            }
            return resumed
        }
        for continuation in continuations {
            continuation.resume()
        }
    }

    /// Returns when `queue` is signalled, when `timeout` passes, or when the task is cancelled; at once when
    /// the generation is no longer `generation`.
    public func wait(queue: String, unlessChangedFrom generation: UInt64, timeout: Duration) async {
        let id = self.state.withLock { state in
            state.lastWaiterID &+= 1
            return state.lastWaiterID
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let resumeNow = self.state.withLock { state -> Bool in
                        let current = state.generations[queue, default: 0] &+ state.globalGeneration
                        if current != generation || state.waiters[queue]?[id] != nil {
                            // Already signalled, or already timed out before we got here.
                            return true
                        }
                        state.waiters[queue, default: [:]][id] = .waiting(continuation)
                        return false
                    }
                    if resumeNow { continuation.resume() }
                }
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
            }
            await group.next()
            let pending = self.state.withLock { state -> CheckedContinuation<Void, Never>? in
                let waiter = state.waiters[queue]?[id]
                // Recorded even when the waiter has not registered yet, so that it resumes at once when it does.
                state.waiters[queue, default: [:]][id] = .finished
                if case .waiting(let continuation) = waiter { return continuation }
                return nil
            }
            pending?.resume()
            group.cancelAll()
        }
        self.state.withLock { state in
            state.waiters[queue]?.removeValue(forKey: id)
            if state.waiters[queue]?.isEmpty == true { state.waiters.removeValue(forKey: queue) }
        }
    }
}
