import Dispatch
import Synchronization

/// The threads that run password hashing, apart from everything else, with a bounded queue.
///
/// bcrypt costs about 0.2 s of CPU per call. On a shared pool (NIO's, which SQLiteNIO runs every query on,
/// or the cooperative pool) a login flood would starve the database and the decision journal. Here it gets
/// its own serial queues, and when `threads + queueLimit` hashes are already waiting a new one is refused at
/// once with ``Busy``: the login is answered 503 with `Retry-After`, and nothing else slows down.
public final class PasswordHashingPool: Sendable {
    /// The pool is full: try again shortly.
    public struct Busy: Error, Sendable, CustomStringConvertible {
        public var description: String { "the password-hashing pool is full" }
    }

    /// A pool for tests and tools that do not configure one: generous, so that parallel tests are not shed.
    public static let shared = PasswordHashingPool(threads: 2, queueLimit: 10_000)

    private let queues: [DispatchQueue]
    private let capacity: Int
    private let state = Mutex<(inFlight: Int, next: Int)>((0, 0))

    public init(threads: Int, queueLimit: Int) {
        self.queues = (0..<max(1, threads)).map { DispatchQueue(label: "portcullis.password-hashing.\($0)", qos: .utility) }
        self.capacity = max(1, threads) + max(0, queueLimit)
    }

    /// How many hashes are running or waiting now.
    public var inFlight: Int { self.state.withLock { $0.inFlight } }

    /// Whether the pool is full now.
    public var isFull: Bool { self.state.withLock { $0.inFlight >= self.capacity } }

    /// Runs `work` on one of the pool's threads, or throws ``Busy`` at once when the pool is full.
    public func run<Value: Sendable>(_ work: @escaping @Sendable () -> Value) async throws -> Value {
        let queue: DispatchQueue? = self.state.withLock { state in
            guard state.inFlight < self.capacity else { return nil }
            state.inFlight += 1
            state.next = (state.next + 1) % self.queues.count
            return self.queues[state.next]
        }
        guard let queue else { throw Busy() }
        return await withCheckedContinuation { continuation in
            queue.async {
                let value = work()
                self.state.withLock { $0.inFlight -= 1 }
                continuation.resume(returning: value)
            }
        }
    }
}
