/// Exponential backoff: `initial` after the first failure, doubled after each further one, never more
/// than `maximum`. The one shape behind delivery retries, consumer pauses and service restarts.
public struct Backoff: Sendable, Equatable {
    public var initial: Duration
    public var maximum: Duration

    public init(initial: Duration, maximum: Duration) {
        self.initial = initial
        self.maximum = maximum
    }

    /// The delay after `failures` failures in a row (1 for the first).
    public func delay(afterFailures failures: Int) -> Duration {
        min(self.initial * (1 << min(max(failures - 1, 0), 30)), self.maximum)
    }
}
