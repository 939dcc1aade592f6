import Logging
import NIOCore
import NIOPosix
import PortcullisCore
import PostgresNIO
import Synchronization

/// A small pool of PostgreSQL connections whose every wait has a deadline.
///
/// PostgresNIO's `PostgresClient` was seen, after `pg_ctl stop -m immediate` and a restart under load, to
/// leave one connection attempt hanging with every lease queued behind it: the whole gateway waited forever.
/// This pool keeps what must never hang in its own hands:
/// - a lease waits at most `leaseTimeout` for a connection, then fails with ``StorageError/unavailable(_:)``;
/// - connecting has its own deadline (``withDeadline(_:_:)``), so a connection attempt that never ends is
///   abandoned, not waited for;
/// - a connection that is closed (its server died), or on which a statement was abandoned, is dropped
///   when it comes back, never lent again;
/// - a statement that never returns holds one connection, never the pool: other leases still time out;
/// - nothing needs to be started before the first lease.
final class PostgresConnectionPool: Sendable {
    struct Options: Sendable {
        var maximumConnections = 20
        var connectTimeout: Duration = .seconds(5)
        var leaseTimeout: Duration = .seconds(5)
    }

    private struct Waiter {
        let id: Int
        let continuation: CheckedContinuation<PooledConnection, any Error>
    }

    private struct State {
        var idle: [PooledConnection] = []
        /// Connections open or being opened, lent or idle.
        var open = 0
        var waiters: [Waiter] = []
        var nextWaiter = 0
        var nextConnectionID = 0
        var closed = false
    }

    private let configuration: PostgresConnection.Configuration
    private let options: Options
    private let logger: Logger
    private let state = Mutex(State())

    init(configuration: PostgresConnection.Configuration, options: Options, logger: Logger) {
        self.configuration = configuration
        self.options = options
        self.logger = logger
    }

    /// Lends a connection for `body`; a connection found closed afterwards (its server died) is dropped.
    func withConnection<Result: Sendable>(_ body: (PooledConnection) async throws -> Result) async throws -> Result {
        let connection = try await self.lease()
        let result: Result
        do {
            result = try await body(connection)
        } catch {
            self.release(connection)
            throw error
        }
        self.release(connection)
        return result
    }

    /// Connections open now (lent, idle or being opened), for readiness and tests.
    var openConnections: Int { self.state.withLock { $0.open } }

    /// Closes idle connections and fails every waiting lease; connections in use close as they come back.
    func close() {
        let (idle, waiters) = self.state.withLock { state in
            state.closed = true
            defer {
                state.idle = []
                state.waiters = []
            }
            return (state.idle, state.waiters)
        }
        for waiter in waiters { waiter.continuation.resume(throwing: StorageError.unavailable("the database pool is closed")) }
        // Not awaited: closing runs on the connections' event loops, also when the caller is cancelled.
        for pooled in idle { Self.startClosing(pooled.connection) }
    }

    private enum Lease {
        case idle(PooledConnection)
        case open(Int)
        case wait
        case closed
    }

    /// A connection within `leaseTimeout`: an idle one, a new one while under the limit, or the next one
    /// given back. A connection that cannot be opened (the server is down, or out of connection slots) is
    /// tried again with a growing pause until the deadline, then the lease fails as unavailable.
    private func lease() async throws -> PooledConnection {
        let deadline = ContinuousClock.now + self.options.leaseTimeout
        var pause: Duration = .milliseconds(50)
        var lastError: (any Error)?
        while true {
            let lease = self.state.withLock { state -> Lease in
                if state.closed { return .closed }
                while let connection = state.idle.popLast() {
                    if !connection.isUnusable { return .idle(connection) }
                    state.open -= 1
                }
                if state.open < self.options.maximumConnections {
                    state.open += 1
                    state.nextConnectionID += 1
                    return .open(state.nextConnectionID)
                }
                return .wait
            }
            switch lease {
            case .idle(let connection): return connection
            case .closed: throw StorageError.unavailable("the database pool is closed")
            case .wait: return try await self.waitForConnection(until: deadline)
            case .open(let id):
                do {
                    // Connecting counts against the lease's deadline too.
                    return try await self.connect(id: id, within: min(self.options.connectTimeout, ContinuousClock.now.duration(to: deadline)))
                } catch {
                    lastError = error
                }
            }
            try Task.checkCancellation()
            guard ContinuousClock.now + pause < deadline else {
                throw lastError ?? StorageError.unavailable("no database connection within \(self.options.leaseTimeout)")
            }
            try await Task.sleep(for: pause)
            pause = min(pause * 2, .seconds(1))
        }
    }

    /// Opens connection `id` (already counted in `open`), uncounting it when that fails.
    private func connect(id: Int, within timeout: Duration) async throws -> PooledConnection {
        let configuration = self.configuration
        let logger = self.logger
        do {
            return PooledConnection(try await Self.connect(configuration, id: id, timeout: max(timeout, .milliseconds(1)), logger: logger))
        } catch {
            // Waiters are not served from here: while the database is down they time out with 503, and a
            // retry loop would only spin.
            self.state.withLock { $0.open -= 1 }
            throw StorageError.unavailable("cannot connect to the database: \(PostgresBackend.describe(error))")
        }
    }

    /// Starts closing `connection` without waiting; the connection is kept alive until it is closed
    /// (PostgresNIO requires a connection to be closed before it is released).
    static func startClosing(_ connection: PostgresConnection) {
        connection.close().whenComplete { _ in withExtendedLifetime(connection) {} }
    }

    /// One new connection within `timeout`; an attempt that outlives it is abandoned, and closes the
    /// connection should it still succeed.
    static func connect(
        _ configuration: PostgresConnection.Configuration, id: Int, timeout: Duration, logger: Logger
    ) async throws -> PostgresConnection {
        try await withDeadline(timeout) {
            let connection = try await PostgresConnection.connect(
                on: MultiThreadedEventLoopGroup.singleton.any(), configuration: configuration, id: id, logger: logger
            ).get()
            if Task.isCancelled {
                try? await connection.close()
                throw CancellationError()
            }
            return connection
        }
    }

    private func waitForConnection(until deadline: ContinuousClock.Instant) async throws -> PooledConnection {
        let id = self.state.withLock { state -> Int in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        let timeout = self.options.leaseTimeout
        let deadline = Task {
            try await Task.sleep(until: deadline)
            self.failWaiter(id, StorageError.unavailable("no database connection within \(timeout)"))
        }
        defer { deadline.cancel() }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<PooledConnection, any Error>) in
                let cancelled = self.state.withLock { state -> Bool in
                    if Task.isCancelled || state.closed { return true }
                    state.waiters.append(Waiter(id: id, continuation: continuation))
                    return false
                }
                if cancelled { continuation.resume(throwing: CancellationError()) }
            }
        } onCancel: {
            self.failWaiter(id, CancellationError())
        }
    }

    private func failWaiter(_ id: Int, _ error: any Error) {
        let waiter = self.state.withLock { state -> Waiter? in
            guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
            return state.waiters.remove(at: index)
        }
        waiter?.continuation.resume(throwing: error)
    }

    /// Takes a connection back: handed to the next waiter, kept idle, or dropped when it is closed.
    private func release(_ connection: PooledConnection) {
        enum Next {
            case handOver(Waiter)
            case kept
            case dropped
            case closeIt
        }
        let next = self.state.withLock { state -> Next in
            if connection.isUnusable {
                state.open -= 1
                return .dropped
            }
            if state.closed {
                state.open -= 1
                return .closeIt
            }
            if !state.waiters.isEmpty { return .handOver(state.waiters.removeFirst()) }
            state.idle.append(connection)
            return .kept
        }
        switch next {
        case .handOver(let waiter): waiter.continuation.resume(returning: connection)
        case .kept: break
        case .dropped:
            Self.startClosing(connection.connection)
            self.startConnectionForWaiter()
        case .closeIt: Self.startClosing(connection.connection)
        }
    }

    /// When a connection went away while leases wait, opens a new one for the first of them.
    private func startConnectionForWaiter() {
        let id = self.state.withLock { state -> Int? in
            guard !state.closed, !state.waiters.isEmpty, state.open < self.options.maximumConnections else { return nil }
            state.open += 1
            state.nextConnectionID += 1
            return state.nextConnectionID
        }
        guard let id else { return }
        Task {
            guard let connection = try? await self.connect(id: id, within: self.options.connectTimeout) else { return }
            self.release(connection)
        }
    }
}
