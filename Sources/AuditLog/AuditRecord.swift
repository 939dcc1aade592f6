import Foundation
public import PortcullisCore

/// One entry of the audit log (API.md §7), without its chain fields.
///
/// Its canonical form (compact JSON, keys sorted) is what the chain's HMAC covers, and is stored verbatim:
/// the record a reader gets back is exactly the one that was hashed.
public struct AuditRecord: Codable, Sendable, Hashable {
    public var id: String
    public var seq: Int64
    public var createdAt: String
    public var name: String
    public var serviceName: String
    public var requestID: String?
    /// The tenant the record belongs to, for scoping reads: the event's, else the actor's, else the resource's.
    public var tenant: String?
    public var stage: String?
    public var outcome: String?
    public var reason: String?
    public var permission: String?
    public var rule: String?
    public var policyRevision: String?
    public var actor: AuditActor?
    public var resource: AuditResource?
    public var client: AuditClient?
    /// `push` for a record a caller appended through `POST /logs`; absent for Portcullis's own records.
    public var origin: String?
    public var payload: JSONValue

    /// Wire names as in the contract (`...Id`); Swift spells the acronym `ID`.
    enum CodingKeys: String, CodingKey {
        case id
        case seq
        case createdAt
        case name
        case serviceName
        case requestID = "requestId"
        case tenant
        case stage
        case outcome
        case reason
        case permission
        case rule
        case policyRevision
        case actor
        case resource
        case client
        case origin
        case payload
    }
    public init(
        id: String, seq: Int64 = 0, createdAt: String, name: String, serviceName: String, requestID: String? = nil, tenant: String? = nil,
        stage: String? = nil, outcome: String? = nil, reason: String? = nil, permission: String? = nil, rule: String? = nil,
        policyRevision: String? = nil, actor: AuditActor? = nil, resource: AuditResource? = nil, client: AuditClient? = nil,
        origin: String? = nil, payload: JSONValue = .object([:])
    ) {
        self.id = id
        self.seq = seq
        self.createdAt = createdAt
        self.name = name
        self.serviceName = serviceName
        self.requestID = requestID
        self.tenant = tenant
        self.stage = stage
        self.outcome = outcome
        self.reason = reason
        self.permission = permission
        self.rule = rule
        self.policyRevision = policyRevision
        self.actor = actor
        self.resource = resource
        self.client = client
        self.origin = origin
        self.payload = payload
    }

    /// The record an `audit.*` event becomes: the decision fields a payload carries (`outcome`, `actor`,
    /// `resource`, ...) are lifted into the record, everything else stays in `payload`.
    public init(event: Event) {
        var rest: [String: JSONValue] = [:]
        if case .object(let fields) = event.payload { rest = fields } else { rest = ["value": event.payload] }
        func text(_ key: String) -> String? {
            guard case .string(let value)? = rest[key] else { return nil }
            rest[key] = nil
            return value
        }
        func object<Value: Decodable>(_ key: String, as type: Value.Type) -> Value? {
            guard let value = rest[key], case .object = value, let decoded = try? JSONCoding.decode(Value.self, from: JSONCoding.string(value))
            else { return nil }
            rest[key] = nil
            return decoded
        }
        let actor = object("actor", as: AuditActor.self)
        let resource = object("resource", as: AuditResource.self)
        self.init(
            id: event.id, createdAt: event.headers.createdAt, name: event.name, serviceName: event.headers.serviceName,
            requestID: event.headers.requestID, tenant: nil, stage: text("stage"), outcome: text("outcome"), reason: text("reason"),
            permission: text("permission"), rule: text("rule"), policyRevision: text("policyRevision"), actor: actor, resource: resource,
            client: object("client", as: AuditClient.self), payload: .object(rest)
        )
        self.tenant = event.headers.tenant ?? actor?.tenant ?? resource?.tenant
    }

    /// Milliseconds since 1970 of `createdAt`, for range filters; 0 when it cannot be read (it always can:
    /// every record's `createdAt` is written by `Timestamp.format`).
    var createdMilliseconds: Int64 {
        Timestamp.parse(self.createdAt).map { Int64(($0.timeIntervalSince1970 * 1000).rounded()) } ?? 0
    }

    /// The canonical text the chain covers: compact JSON, keys sorted, slashes unescaped.
    public func canonicalText() throws -> String {
        try JSONCoding.string(self)
    }
}

/// A stored record with its place in the chain, as `GET /logs` answers it.
public struct ChainedRecord: Sendable, Hashable, Encodable {
    public let record: AuditRecord
    public let prevHash: String
    public let hash: String

    public func encode(to encoder: any Encoder) throws {
        try self.record.encode(to: encoder)
        var container = encoder.container(keyedBy: Keys.self)
        try container.encode(self.prevHash, forKey: .prevHash)
        try container.encode(self.hash, forKey: .hash)
    }

    private enum Keys: String, CodingKey {
        case prevHash, hash
    }
}
