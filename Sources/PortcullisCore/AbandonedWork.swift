import Synchronization

/// How many operations a deadline gave up on are still running: each holds whatever it held (a
/// connection, a lease) until it ends. `/health/ready` reports it under `details.database.abandoned`; it
/// should return to zero.
public final class AbandonedWork: Sendable {
    public static let shared = AbandonedWork()
    private let count = Atomic<Int>(0)

    /// A counter of its own, for a test that must not share the process-wide one.
    package init() {}

    public var running: Int { self.count.load(ordering: .relaxed) }

    func abandoned() { self.count.add(1, ordering: .relaxed) }
    func finished() { self.count.subtract(1, ordering: .relaxed) }
}
