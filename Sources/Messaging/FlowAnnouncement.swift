public import Foundation
public import PortcullisCore

/// A flow as the flow repository announces it in `flow.starting` and `flow.stopping` (the whole flow in
/// OIH's shape, its round and its sealed webhook secret): the one reading of that event contract for the
/// modules that react to it (orchestrator, webhooks, scheduler).
public struct FlowAnnouncement: Decodable, Sendable {
    public struct Edge: Decodable, Sendable, Hashable {
        public let source: String
        public let target: String
    }

    public struct WebhookSettings: Decodable, Sendable {
        public let requireWebhookAuth: Bool?
        public let hmacHeader: String?
        public let hmacAlgorithm: String?
    }

    struct Graph: Decodable {
        struct Node: Decodable { let id: String }
        let nodes: [Node]
        let edges: [Edge]?
    }

    struct Owner: Decodable {
        let id: String
        let type: String?
    }

    struct Settings: Decodable { let webhooks: WebhookSettings? }

    public let id: String
    public let tenant: String?
    public let cron: String?
    public let cronTimezone: String?
    let owners: [Owner]?
    let graph: Graph?
    let flowSettings: Settings?
    let sealedHMACSecret: String?

    enum CodingKeys: String, CodingKey {
        case id, tenant, cron, cronTimezone, owners, graph, flowSettings
        case sealedHMACSecret = "sealedHmacSecret"
    }

    /// The announcement in `event`, or nil when its payload is not a flow.
    public static func read(_ event: Event) -> FlowAnnouncement? {
        try? JSONCoding.decode(FlowAnnouncement.self, from: JSONCoding.string(event.payload))
    }

    /// The round of a lifecycle event or of an answer to one (`lifecycleVersion`; 0 when it names none).
    public static func round(of event: Event) -> Int64 {
        if case .object(let fields) = event.payload, case .int(let round)? = fields["lifecycleVersion"] { return round }
        return 0
    }

    /// The flow id of a lifecycle event or of an answer to one.
    public static func flowID(of event: Event) -> String? {
        guard case .object(let fields) = event.payload, case .string(let id)? = fields["id"], !id.isEmpty else { return nil }
        return id
    }

    public var nodeIDs: [String] { Set(self.graph?.nodes.map(\.id) ?? []).sorted() }
    public var edges: [Edge] { Array(Set(self.graph?.edges ?? [])).sorted { ($0.source, $0.target) < ($1.source, $1.target) } }

    /// The node a webhook call or a scheduled execution goes to: the first in graph order that no edge
    /// leads to, else the first.
    public var firstNodeID: String? {
        let targets = Set(self.graph?.edges?.map(\.target) ?? [])
        return self.graph?.nodes.first { !targets.contains($0.id) }?.id ?? self.graph?.nodes.first?.id
    }

    /// The user and tenant ids among the owners (not the token account of an earlier run).
    public var ownerIDs: [String] {
        (self.owners ?? []).filter { $0.type == nil || $0.type == "user" || $0.type == "tenant" }.map(\.id)
    }

    public var webhooks: WebhookSettings? { self.flowSettings?.webhooks }

    /// The webhook HMAC secret, still sealed under the master key.
    public var sealedSecret: [UInt8]? { self.sealedHMACSecret.flatMap { Data(base64Encoded: $0) }.map(Array.init) }
}
