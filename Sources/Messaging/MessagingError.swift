public import PortcullisCore

/// Errors of the event bus and work queues: each is a caller's mistake, which retrying cannot fix.
public enum MessagingError: UnrecoverableError, Sendable, Equatable, CustomStringConvertible {
    case invalidPattern(String)
    case invalidTopic(String)
    case invalidGroup(String)
    /// A dead letter could not be replayed because the same message is queued again already.
    case alreadyQueued(String)
    /// A dead letter of a flow's step queue could not be replayed because the flow no longer runs.
    case queueGone(String)

    public var description: String {
        switch self {
        case .invalidPattern(let pattern): "invalid topic pattern '\(pattern)'"
        case .invalidTopic(let topic): "invalid topic '\(topic)': use non-empty dot-separated words without * or #"
        case .invalidGroup(let group): "invalid group name '\(group)': use 1-100 of a-z, 0-9, '.', '_' and '-'"
        case .alreadyQueued(let id): "message \(id) is already queued"
        case .queueGone(let queue): "queue \(queue) exists only while its flow runs"
        }
    }
}
