import Foundation
import NIOHTTP1
import Synchronization

/// Concurrent clients calling one URL in a loop, each request with its own request id, every answer
/// recorded with when it was sent and when it came back: what a fault test needs to say which requests
/// were answered 2xx, and that none hung.
final class LoadGenerator: Sendable {
    struct Outcome: Sendable {
        let requestID: String
        /// The HTTP status, or 0 when the request failed without an answer (connection refused, timeout).
        let status: Int
        let sent: ContinuousClock.Instant
        let answered: ContinuousClock.Instant

        var succeeded: Bool { (200..<300).contains(self.status) }
        var duration: Duration { self.sent.duration(to: self.answered) }
    }

    private let outcomes = Mutex<[Outcome]>([])
    private let stopping = Atomic<Bool>(false)
    let prefix: String

    init(prefix: String) {
        self.prefix = prefix
    }

    var all: [Outcome] { self.outcomes.withLock { $0 } }

    /// Runs `clients` loops until ``stop()``, pausing `pause` between one client's requests.
    func run(clients: Int, url: String, token: String, pause: Duration) async {
        await withDiscardingTaskGroup { group in
            for client in 0..<clients {
                group.addTask {
                    var sequence = 0
                    while !self.stopping.load(ordering: .relaxed) && !Task.isCancelled {
                        sequence += 1
                        let requestID = "\(self.prefix)-\(client)-\(sequence)"
                        let sent = ContinuousClock.now
                        let status: Int
                        do {
                            status = try await HTTP.request(
                                .GET, url, headers: [("authorization", "Bearer \(token)"), ("x-request-id", requestID)]
                            ).status
                        } catch {
                            status = 0
                        }
                        let outcome = Outcome(requestID: requestID, status: status, sent: sent, answered: .now)
                        self.outcomes.withLock { $0.append(outcome) }
                        if status == 0 {
                            // Refused connections come back at once: do not spin.
                            try? await Task.sleep(for: .milliseconds(50))
                        } else if pause > .zero {
                            try? await Task.sleep(for: pause)
                        }
                    }
                }
            }
        }
    }

    func stop() {
        self.stopping.store(true, ordering: .relaxed)
    }
}

/// Polls `/health/ready` and keeps every answer's status and time.
final class ReadinessPoller: Sendable {
    private let answers = Mutex<[(at: ContinuousClock.Instant, status: Int)]>([])
    private let stopping = Atomic<Bool>(false)

    var all: [(at: ContinuousClock.Instant, status: Int)] { self.answers.withLock { $0 } }

    func run(url: String) async {
        while !self.stopping.load(ordering: .relaxed) && !Task.isCancelled {
            let status = (try? await HTTP.request(.GET, url).status) ?? 0
            let now = ContinuousClock.now
            self.answers.withLock { $0.append((now, status)) }
            try? await Task.sleep(for: .milliseconds(200))
        }
    }

    func stop() {
        self.stopping.store(true, ordering: .relaxed)
    }
}
