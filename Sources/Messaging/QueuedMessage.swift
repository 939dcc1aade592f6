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
