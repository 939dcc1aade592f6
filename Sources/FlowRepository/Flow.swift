public import Foundation
public import PortcullisCore

/// Where a flow is in its lifecycle: `inactive` -start-> `starting` -flow.started-> `active` -stop->
/// `stopping` -flow.stopped-> `inactive` (API.md §3).
public enum FlowStatus: String, Codable, Sendable, Hashable, CaseIterable {
    case inactive, starting, active, stopping
}

/// A stored flow, as the repository answers it in OIH's shape. The webhook's HMAC secret is kept sealed
/// and never encoded.
public struct Flow: Sendable, Hashable, Encodable {
    public var id: String
    public var draft: FlowDraft
    public var owners: [FlowOwner]
    public var status: FlowStatus
    /// Why the flow last stopped on its own (a `flow.failed` reason); nil otherwise.
    public var statusReason: String?
    public var startedBy: String?
    /// The webhook's HMAC secret, sealed under a key derived from the master key; never answered.
    public var sealedHMACSecret: [UInt8]?
    /// The client id of the flow's token while it runs (from `flow.started`); shown only to owners who
    /// may control the flow (``FlowAnswer``).
    public var tokenClientID: String?
    /// Counts the flow's start and stop rounds: each `flow.starting` and `flow.stopping` carries it, the
    /// orchestrator's answers echo it, and an answer of another round is stale. Never answered.
    public var lifecycleVersion: Int64 = 0
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        id: String, draft: FlowDraft, owners: [FlowOwner], status: FlowStatus = .inactive, statusReason: String? = nil, startedBy: String? = nil,
        sealedHMACSecret: [UInt8]? = nil, tokenClientID: String? = nil, lifecycleVersion: Int64 = 0, createdAt: Date, updatedAt: Date
    ) {
        self.lifecycleVersion = lifecycleVersion
        self.tokenClientID = tokenClientID
        self.id = id
        self.draft = draft
        self.owners = owners
        self.status = status
        self.statusReason = statusReason
        self.startedBy = startedBy
        self.sealedHMACSecret = sealedHMACSecret
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    enum CodingKeys: String, CodingKey {
        case id, name, description, type, tenant, owners, status, statusReason, cron, cronTimezone, graph, flowSettings, startedBy
        case createdAt, updatedAt
    }

    enum SettingsKeys: String, CodingKey { case webhooks }
    enum WebhookKeys: String, CodingKey { case requireWebhookAuth, hmacHeader, hmacAlgorithm }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(self.id, forKey: .id)
        try container.encodeIfPresent(self.draft.name, forKey: .name)
        try container.encodeIfPresent(self.draft.description, forKey: .description)
        try container.encodeIfPresent(self.draft.type, forKey: .type)
        try container.encodeIfPresent(self.draft.tenant, forKey: .tenant)
        try container.encode(self.owners, forKey: .owners)
        try container.encode(self.status, forKey: .status)
        try container.encodeIfPresent(self.statusReason, forKey: .statusReason)
        try container.encodeIfPresent(self.draft.cron, forKey: .cron)
        try container.encodeIfPresent(self.draft.cronTimezone, forKey: .cronTimezone)
        try container.encode(self.draft.graph, forKey: .graph)
        var settings = container.nestedContainer(keyedBy: SettingsKeys.self, forKey: .flowSettings)
        var webhooks = settings.nestedContainer(keyedBy: WebhookKeys.self, forKey: .webhooks)
        try webhooks.encode(self.draft.webhooks?.requireWebhookAuth ?? false, forKey: .requireWebhookAuth)
        try webhooks.encodeIfPresent(self.draft.webhooks?.hmacHeader, forKey: .hmacHeader)
        try webhooks.encodeIfPresent(self.draft.webhooks?.hmacAlgorithm, forKey: .hmacAlgorithm)
        try container.encodeIfPresent(self.startedBy, forKey: .startedBy)
        try container.encode(self.createdAt, forKey: .createdAt)
        try container.encode(self.updatedAt, forKey: .updatedAt)
    }
}
