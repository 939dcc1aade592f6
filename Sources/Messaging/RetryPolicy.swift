import PortcullisCore

/// How failed deliveries are retried: exponential backoff with jitter, then the dead-letter store.
public struct RetryPolicy: Sendable, Equatable {
    /// Deliveries before a message is dead-lettered (the first delivery counts).
    public var maxAttempts: Int
    /// Delay after the first failure; doubles with each further failure.
    public var baseDelay: Duration
    /// Upper bound of the delay.
    public var maxDelay: Duration

    public init(maxAttempts: Int = 10, baseDelay: Duration = .seconds(1), maxDelay: Duration = .seconds(300)) {
        precondition(maxAttempts >= 1)
        self.maxAttempts = maxAttempts
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
    }

    /// The delay before the next delivery after `attempts` failed deliveries: `base · 2^(attempts-1)`,
    /// capped, then scaled by a random factor in [0.5, 1] so that failing consumers spread out
    /// ("equal jitter").
    public func delay(afterAttempts attempts: Int, random: Double = Double.random(in: 0...1)) -> Duration {
        let capped = Backoff(initial: self.baseDelay, maximum: self.maxDelay).delay(afterFailures: attempts)
        return capped * (0.5 + 0.5 * min(max(random, 0), 1))
    }
}
