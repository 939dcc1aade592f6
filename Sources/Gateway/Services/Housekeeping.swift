public import Foundation
public import GatewayKit
public import Logging
public import Messaging
public import PortcullisCore

/// Prunes what would otherwise grow forever, every ten minutes: "already handled" markers of bus
/// consumers older than a week, and whatever each module prunes of its own (the identity module: token
/// rows that can never be accepted again). Login-attempt counters are pruned by the login throttle itself.
public struct Housekeeping: Sendable {
    /// How long a handled-event marker is kept: far longer than any redelivery (leases last minutes).
    public static let markerRetention: Duration = .seconds(7 * 86_400)
    /// How long the step log of flow queues (``QueueJournal``) is kept.
    public static let journalRetention: Duration = .seconds(7 * 86_400)

    let messages: MessageStore
    let modules: [any GatewayModule]
    let clock: WallClock
    let logger: Logger

    public init(messages: MessageStore, modules: [any GatewayModule], clock: WallClock, logger: Logger) {
        self.messages = messages
        self.modules = modules
        self.clock = clock
        self.logger = logger
    }

    /// One pass; returns how many rows went, by kind.
    public func prune() async throws -> [String: Int] {
        let now = self.clock.now
        var pruned = [
            "markers": try await self.messages.pruneProcessedMarkers(
                before: now.addingTimeInterval(-Double(Self.markerRetention.components.seconds))),
            "step-log": try await self.messages.pruneJournal(before: now.addingTimeInterval(-Double(Self.journalRetention.components.seconds))),
        ]
        for module in self.modules {
            pruned.merge(try await module.prune(now: now)) { $0 + $1 }
        }
        return pruned
    }

    /// The pass as a periodic background job: first a minute after start-up, then every ten minutes.
    public func job() -> PeriodicJob {
        PeriodicJob(name: "housekeeping", every: .seconds(600), firstAfter: .seconds(60), logger: self.logger) {
            let pruned = try await self.prune()
            if pruned.values.reduce(0, +) > 0 {
                self.logger.info("housekeeping pruned rows", metadata: pruned.mapValues { "\($0)" })
            }
        }
    }
}
