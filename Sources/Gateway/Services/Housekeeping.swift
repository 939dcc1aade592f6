public import Foundation
public import IAM
public import Logging
public import Messaging
public import PortcullisCore

/// Prunes what would otherwise grow forever, every ten minutes: token rows that can never be accepted
/// again (expired, or persistent and revoked, a day ago or more) and "already handled" markers of bus
/// consumers older than a week. Login-attempt counters are pruned by the login throttle itself.
public enum Housekeeping {
    /// How long an expired or revoked token's row is kept (for an operator's "why was this refused?").
    public static let tokenGrace: Duration = .seconds(86_400)
    /// How long a handled-event marker is kept: far longer than any redelivery (leases last minutes).
    public static let markerRetention: Duration = .seconds(7 * 86_400)

    /// One pass; returns how many token rows and markers went.
    public static func prune(tokens: TokenStore, messages: MessageStore, now: Date = Date()) async throws -> (tokens: Int, markers: Int) {
        let tokens = try await tokens.prune(before: now.addingTimeInterval(-Double(Self.tokenGrace.components.seconds)))
        let markers = try await messages.pruneProcessedMarkers(before: now.addingTimeInterval(-Double(Self.markerRetention.components.seconds)))
        return (tokens, markers)
    }

    /// The pass as a periodic background job: first a minute after start-up, then every ten minutes.
    public static func job(tokens: TokenStore, messages: MessageStore, logger: Logger) -> PeriodicJob {
        PeriodicJob(name: "housekeeping", every: .seconds(600), firstAfter: .seconds(60), logger: logger) {
            let pruned = try await Self.prune(tokens: tokens, messages: messages)
            if pruned.tokens + pruned.markers > 0 {
                logger.info("housekeeping pruned rows", metadata: ["tokens": "\(pruned.tokens)", "markers": "\(pruned.markers)"])
            }
        }
    }
}
