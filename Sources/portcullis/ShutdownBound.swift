import Foundation
import Logging
import PortcullisCore
import UnixSignals

/// Bounds graceful shutdown: once SIGTERM or SIGINT arrives, the process has `limit` to finish its
/// in-flight requests and stop its services; past that it says what it was still waiting for and exits
/// with status 1, instead of hanging on something that will never end.
enum ShutdownBound {
    /// Starts watching the signals; returns at once.
    ///
    /// - Parameter waitingFor: What has not stopped yet, as a sentence for the log (background services
    ///   still running, decision records still committing, abandoned database calls).
    static func watch(limit: Duration, logger: Logger, waitingFor: @escaping @Sendable () -> String) {
        Task.detached {
            let signals = await UnixSignalsSequence(trapping: .sigterm, .sigint)
            for await signal in signals {
                logger.notice("shutting down", metadata: ["signal": "\(signal)", "bound": "\(limit)"])
                try? await Task.sleep(for: limit)
                let waiting = waitingFor()
                logger.critical("shutdown did not finish within its bound; exiting", metadata: ["bound": "\(limit)", "waiting.for": "\(waiting)"])
                Console.error("portcullis: shutdown did not finish within \(limit) (waiting for \(waiting)); exiting with status 1")
                exit(1)
            }
        }
    }
}
