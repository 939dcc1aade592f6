import Foundation
public import GatewayKit
public import Messaging
public import PortcullisCore

/// The bus can be read; reports each queue's depth, leased count and lag (age of its oldest message), and
/// the number of dead letters waiting for an operator.
public struct BusReadiness: ReadinessCheck {
    public let name = "bus"
    let store: MessageStore
    let clock: WallClock
    let timeout: Duration

    /// - Parameter timeout: how long the check may take before it counts as failed; a probe should not hang.
    public init(store: MessageStore, clock: WallClock, timeout: Duration = .seconds(3)) {
        self.store = store
        self.clock = clock
        self.timeout = timeout
    }

    public func check() async -> ReadinessResult {
        do {
            let (stats, deadLetters) = try await withDeadline(self.timeout) { [store] in
                (try await store.stats(), try await store.deadLetters(offset: 0, limit: 0).total)
            }
            let now = self.clock.now
            var queues: [String: JSONValue] = [:]
            for queue in stats {
                queues[queue.queue] = [
                    "depth": .int(Int64(queue.depth)),
                    "leased": .int(Int64(queue.leased)),
                    "lagSeconds": .double(queue.lagSeconds(at: now)),
                ]
            }
            return ReadinessResult(ready: true, info: ["queues": .object(queues), "deadLetters": .int(Int64(deadLetters))])
        } catch {
            return ReadinessResult(ready: false)
        }
    }
}
