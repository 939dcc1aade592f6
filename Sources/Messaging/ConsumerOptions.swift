/// How a group's consumer leases and retries.
public struct ConsumerOptions: Sendable {
    /// Messages leased per claim.
    public var batchSize: Int
    /// How long a leased message stays invisible to other consumers; a crashed consumer's messages come
    /// back after this.
    public var visibility: Duration
    public var retry: RetryPolicy
    /// Longest an idle consumer goes without re-checking, in case a wake-up was lost.
    public var pollInterval: Duration
    /// Messages handled at the same time by this consumer.
    public var concurrency: Int

    public init(
        batchSize: Int = 10,
        visibility: Duration = .seconds(30),
        retry: RetryPolicy = RetryPolicy(),
        pollInterval: Duration = .seconds(5),
        concurrency: Int = 1
    ) {
        self.batchSize = max(1, batchSize)
        self.visibility = visibility
        self.retry = retry
        self.pollInterval = pollInterval
        self.concurrency = max(1, concurrency)
    }
}
