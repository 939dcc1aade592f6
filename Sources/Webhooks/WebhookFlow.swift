import Foundation
public import PortcullisCore

/// A flow as the webhooks module knows it from `flow.starting`: where its calls go and how they are
/// authenticated.
public struct WebhookFlow: Sendable, Hashable {
    public enum State: String, Sendable {
        case new, starting, active, stopped
    }

    public let flowID: String
    public var state: State
    /// The run (the flow's round) these settings belong to: a call checked under them goes only into that run's queue.
    public var round: Int64
    /// The first node's queue; nil for a flow without nodes.
    public var queue: String?
    /// Started by cron: its webhook answers 404 like an inactive flow's.
    public var scheduled: Bool
    public var tenant: String?
    /// User and tenant ids among the flow's owners when it started.
    public var owners: [String]
    public var requireAuth: Bool
    public var hmacHeader: String?
    public var hmacAlgorithm: String?
    public var sealedSecret: [UInt8]?

    /// Receives calls now: active, and not a cron flow.
    public var receives: Bool { self.state == .active && !self.scheduled && self.queue != nil }

    /// How a call must prove itself.
    public enum Authentication: Sendable, Equatable {
        case none
        /// An HMAC of the raw body in `header`, hex or base64.
        case hmac(header: String, algorithm: String)
        /// A bearer token with `webhooks.execute` of an owner.
        case bearer
    }

    /// A sealed secret means HMAC; otherwise `requireWebhookAuth` means a bearer token.
    public var authentication: Authentication {
        if self.sealedSecret != nil { return .hmac(header: (self.hmacHeader ?? "x-hmac").lowercased(), algorithm: self.hmacAlgorithm ?? "sha256") }
        return self.requireAuth ? .bearer : .none
    }
}
