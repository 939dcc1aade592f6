public import PortcullisCore

/// Who owns a flow: a user (`type: "user"`, an account id) or a tenant (`type: "tenant"`).
public struct FlowOwner: Codable, Sendable, Hashable {
    public var id: String
    public var type: String

    public init(id: String, type: String) {
        self.id = id
        self.type = type
    }
}

/// How a flow's webhook is protected (`flowSettings.webhooks`). `hmacSecret` is write-only: it is taken
/// from requests and never put into an answer.
public struct WebhookSettings: Sendable, Hashable {
    public var requireWebhookAuth: Bool?
    public var hmacSecret: String?
    public var hmacHeader: String?
    public var hmacAlgorithm: String?

    public init(requireWebhookAuth: Bool? = nil, hmacSecret: String? = nil, hmacHeader: String? = nil, hmacAlgorithm: String? = nil) {
        self.requireWebhookAuth = requireWebhookAuth
        self.hmacSecret = hmacSecret
        self.hmacHeader = hmacHeader
        self.hmacAlgorithm = hmacAlgorithm
    }
}

/// The fields of a flow a client writes, validated (``FlowValidator``): what a create or a PATCH, merged
/// onto the stored flow, turns into. Status, ids and timestamps are the repository's.
public struct FlowDraft: Sendable, Hashable {
    public var name: String?
    public var description: String?
    public var type: String?
    public var tenant: String?
    public var owners: [FlowOwner]?
    public var cron: String?
    public var cronTimezone: String?
    public var graph: FlowGraph
    public var webhooks: WebhookSettings?

    public init(
        name: String? = nil, description: String? = nil, type: String? = nil, tenant: String? = nil, owners: [FlowOwner]? = nil,
        cron: String? = nil, cronTimezone: String? = nil, graph: FlowGraph, webhooks: WebhookSettings? = nil
    ) {
        self.name = name
        self.description = description
        self.type = type
        self.tenant = tenant
        self.owners = owners
        self.cron = cron
        self.cronTimezone = cronTimezone
        self.graph = graph
        self.webhooks = webhooks
    }
}
