/// Who acted, in an audit record: the account behind the token and the token's id, never the token itself.
public struct AuditActor: Codable, Sendable, Hashable {
    /// The account id; nil for an anonymous caller.
    public var sub: String?
    /// `user`, `service` or `anonymous`.
    public var type: String
    public var tenant: String?
    public var tokenID: String?
    public var act: Principal.Actor?
    /// In a decision record: the digest of the permissions the decision was made with (``PermissionSet``).
    public var permissions: String?

    /// Wire names as in the contract (`...Id`); Swift spells the acronym `ID`.
    enum CodingKeys: String, CodingKey {
        case sub
        case type
        case tenant
        case tokenID = "tokenId"
        case act
        case permissions
    }
    public init(sub: String?, type: String, tenant: String?, tokenID: String?, act: Principal.Actor?) {
        self.sub = sub
        self.type = type
        self.tenant = tenant
        self.tokenID = tokenID
        self.act = act
    }

    /// The actor a request's principal stands for; anonymous without one.
    public init(_ principal: Principal?) {
        guard let principal else {
            self.init(sub: nil, type: "anonymous", tenant: nil, tokenID: nil, act: nil)
            return
        }
        self.init(sub: principal.accountID, type: principal.type.rawValue, tenant: principal.tenant, tokenID: principal.tokenID, act: principal.actor)
    }
}

/// What was acted upon: the request's method and canonical path, and for resource-level decisions the
/// resource's type, id and tenant.
public struct AuditResource: Codable, Sendable, Hashable {
    public var method: String?
    public var path: String?
    public var type: String?
    public var id: String?
    public var tenant: String?

    public init(method: String? = nil, path: String? = nil, type: String? = nil, id: String? = nil, tenant: String? = nil) {
        self.method = method
        self.path = path
        self.type = type
        self.id = id
        self.tenant = tenant
    }
}

/// Where the request came from.
public struct AuditClient: Codable, Sendable, Hashable {
    public var ip: String
    public var userAgent: String?

    public init(ip: String, userAgent: String?) {
        self.ip = ip
        self.userAgent = userAgent
    }
}

/// The payload of an `audit.authz.decision` event (API.md §7): one authorization decision.
public struct DecisionPayload: Codable, Sendable, Hashable {
    public static let eventName = "audit.authz.decision"

    /// `route` for the gateway's decision on a request, `resource` for a module's check on one resource.
    public var stage: String
    /// `allow` or `deny`.
    public var outcome: String
    /// `ALLOWED`, `PUBLIC`, `UNAUTHENTICATED`, `INVALID_TOKEN`, `MISSING_PERMISSION`, `NO_ROUTE`, ...
    public var reason: String
    /// The permissions the rule or check asked for, comma-separated; nil when none.
    public var permission: String?
    public var rule: String?
    public var policyRevision: String?
    public var actor: AuditActor
    public var resource: AuditResource
    public var client: AuditClient

    public init(
        stage: String, outcome: String, reason: String, permission: String?, rule: String?, policyRevision: String?, actor: AuditActor,
        resource: AuditResource, client: AuditClient
    ) {
        self.stage = stage
        self.outcome = outcome
        self.reason = reason
        self.permission = permission
        self.rule = rule
        self.policyRevision = policyRevision
        self.actor = actor
        self.resource = resource
        self.client = client
    }
}
