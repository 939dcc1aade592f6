import Foundation
import Logging
import NIOPosix
import SQLiteNIO

/// Copies SQLite's write-ahead log into the database file in the background, from a connection and a
/// thread of its own, so that the writer does not.
///
/// Left to itself the writing connection checkpoints after the commit that takes the log past
/// `wal_autocheckpoint` pages: that commit copies the pages and waits for two `fsync`s, and everything
/// queued behind the connection waits with it (measured: more than half of the time of a decision batch's
/// insert on this machine's disk). Here a `PASSIVE` checkpoint runs every `interval` (a second by default) instead: it copies
/// what is committed without blocking the writer or readers. Under steady writes the log rarely ends up
/// wholly copied when a write begins, which is when SQLite starts it over, so the writer's own threshold
/// stays as the backstop, raised to ``writerThreshold`` pages: it then finds little left to copy, and the
/// log starts over. ``journalSizeLimit`` truncates the file then, so it does not keep its largest size.
struct WALCheckpointer: Sendable {
    /// Pages in the log after which a commit checkpoints by itself (4 KiB each: 40 MiB).
    static let writerThreshold = 10_000
    /// Bytes the log file is cut back to when it starts over.
    static let journalSizeLimit = 16 * 1024 * 1024

    let path: String
    let interval: Duration
    let logger: Logger

    /// Checkpoints every ``interval``, once the log file has reached ``backgroundThreshold`` bytes (an idle
    /// or small database, most of the test suite's, opens no second connection and waits for no `fsync`),
    /// until the task is cancelled.
    func run() async {
        var checkpointing: (connection: SQLiteConnection, pool: NIOThreadPool)?
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: self.interval)
                guard Self.fileSize(self.path + "-wal") >= Self.backgroundThreshold else { continue }
                if checkpointing == nil { checkpointing = try await self.open() }
                if let (connection, _) = checkpointing {
                    _ = try await connection.query("PRAGMA wal_checkpoint(PASSIVE)", [])
                }
            } catch is CancellationError {
                break
            } catch {
                self.logger.debug("background checkpoint failed", metadata: ["error": "\(SQLiteBackend.describe(error))"])
            }
        }
        if let (connection, pool) = checkpointing {
            // The future-based close is not cancellation-aware, so it closes although this task was cancelled.
            try? await connection.close().get()
            try? await pool.shutdownGracefully()
        }
    }

    /// Bytes of log after which the background copies it (the writer's default threshold, 1,000 pages).
    static let backgroundThreshold = 4 * 1024 * 1024

    /// A connection on a thread of its own: a checkpoint waits for `fsync`, and should not hold a thread the
    /// writer's statements need.
    private func open() async throws -> (SQLiteConnection, NIOThreadPool) {
        let pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
        do {
            let connection = try await SQLiteConnection.open(
                storage: .file(path: self.path), threadPool: pool, logger: self.logger, on: MultiThreadedEventLoopGroup.singleton.any())
            // SQLiteNIO's own busy handler retries at once, forever: reading the schema while another process
            // holds a lock would spin this thread.
            _ = try? await connection.query("PRAGMA busy_timeout = 1000", [])
            return (connection, pool)
        } catch {
            try? await pool.shutdownGracefully()
            throw error
        }
    }

    static func fileSize(_ path: String) -> Int {
        var status = stat()
        return stat(path, &status) == 0 ? Int(status.st_size) : 0
    }
}
