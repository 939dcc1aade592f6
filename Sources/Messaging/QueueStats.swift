public import Foundation

/// Depth and age of one queue.
public struct QueueStats: Sendable, Hashable {
    public let queue: String
    /// Messages waiting or leased.
    public let depth: Int
    /// Messages currently leased by a consumer.
    public let leased: Int
    /// When the oldest message was enqueued: its age is the consumer lag.
    public let oldestEnqueuedAt: Date?

    /// The consumer lag at `now`: the oldest message's age in seconds, to the millisecond; 0 when empty.
    public func lagSeconds(at now: Date) -> Double {
        let lag = self.oldestEnqueuedAt.map { max(0, now.timeIntervalSince($0)) } ?? 0
        return (lag * 1000).rounded() / 1000
    }
}
