public import Foundation

/// A message handed out under a lease. Only the holder of `leaseID` may ack or nack it.
public struct QueuedMessage: Sendable, Hashable {
    /// The store's sequence number: the handle for ack and nack.
    public let seq: Int64
    public let queue: String
    /// The caller's id (the event id on the bus), unique within the queue.
    public let messageID: String
    public let body: String
    /// 1 on the first delivery.
    public let attempts: Int
    public let enqueuedAt: Date
    public let leaseID: String
}

/// What a nack did.
public enum NackOutcome: Sendable, Equatable {
    /// Back in the queue, visible again after the delay.
    case requeued
    /// Out of attempts: moved to the dead-letter store.
    case deadLettered
    /// The lease was not (or no longer) the caller's; nothing changed.
    case staleLease
}

/// A message that failed every attempt, kept for an operator to inspect, replay or purge.
public struct DeadLetter: Sendable, Hashable, Codable {
    public let id: String
    public let queue: String
    public let messageID: String
    public let body: String
    public let attempts: Int
    public let enqueuedAt: Date
    public let failedAt: Date
    public let lastError: String

    /// Wire names as in the contract (`...Id`); Swift spells the acronym `ID`.
    enum CodingKeys: String, CodingKey {
        case id
        case queue
        case messageID = "messageId"
        case body
        case attempts
        case enqueuedAt
        case failedAt
        case lastError
    }
}

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
