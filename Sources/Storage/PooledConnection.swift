import PostgresNIO
import Synchronization

/// A pooled PostgreSQL connection and the statement it runs now: when the connection closes (its server
/// died), that statement is failed at once instead of staying pending until its deadline.
///
/// PostgresNIO was seen to leave a statement pending forever on a connection whose server crashed; the
/// statement deadline would end the wait after 30 s, but everything behind it (the audit log's consumer)
/// would stand still that long. The close is watched once per connection, not once per statement.
final class PooledConnection: Sendable {
    let connection: PostgresConnection
    private let running = Mutex<Running>(Running())

    private struct Running {
        var closed = false
        /// A statement was abandoned on it, or a rollback failed: never lent again, whatever its state.
        var discarded = false
        var giveUp: (@Sendable (any Error) -> Void)?
    }

    init(_ connection: PostgresConnection) {
        self.connection = connection
        connection.closeFuture.whenComplete { _ in
            let giveUp = self.running.withLock { running in
                running.closed = true
                defer { running.giveUp = nil }
                return running.giveUp
            }
            giveUp?(StorageError.unavailable("the connection to the database closed during a statement"))
        }
    }

    /// Whether the pool must drop it rather than lend it again: closed, closing, or discarded.
    var isUnusable: Bool {
        self.running.withLock { $0.closed || $0.discarded } || self.connection.isClosed
    }

    /// Marks it never to be lent again and starts closing it: a statement was abandoned on it (and may
    /// still be running), or its transaction could not be rolled back.
    func discard() {
        self.running.withLock { $0.discarded = true }
        PostgresConnectionPool.startClosing(self.connection)
    }

    /// Calls `giveUp` when the connection closes before ``statementEnded()``, at once when it is closed already.
    func statementStarted(_ giveUp: @escaping @Sendable (any Error) -> Void) {
        let closed = self.running.withLock { running in
            if !running.closed { running.giveUp = giveUp }
            return running.closed
        }
        if closed { giveUp(StorageError.unavailable("the connection to the database is closed")) }
    }

    func statementEnded() {
        self.running.withLock { $0.giveUp = nil }
    }
}
