public import Foundation

/// An audit record built once, as the canonical text the chain will hash and store, by whoever makes it
/// (the request's task, for decision records): appending only puts its `seq` into the text and links it.
///
/// The text is the record's compact JSON with its keys sorted, like the audit log's canonical form, and
/// decodes to the same record; the verifier hashes the stored text, so no encoder runs twice. The columns
/// that filters read travel beside it.
public struct PreparedRecord: Sendable {
    public let id: String
    public let createdMilliseconds: Int64
    public let name: String
    public let serviceName: String
    public let requestID: String?
    public let outcome: String?
    public let actorSub: String?
    public let tenant: String?
    /// The permissions the decision was made with, kept once per distinct set beside the chain; the record
    /// itself names its digest (`actor.permissions`).
    public let permissionSet: PermissionSet?
    /// The canonical text before the seq number (ending in `"seq":`) and after it.
    let beforeSeq: [UInt8]
    let afterSeq: [UInt8]

    /// The stored text with `seq` in its place.
    public func body(seq: Int64) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(self.beforeSeq.count + 20 + self.afterSeq.count)
        bytes.append(contentsOf: self.beforeSeq)
        bytes.append(contentsOf: String(seq).utf8)
        bytes.append(contentsOf: self.afterSeq)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// An `audit.authz.decision` record (API.md §7): one authorization decision about one request, by the
    /// gateway. Its tenant is the actor's, else the resource's.
    public static func decision(
        id: String? = nil, at date: Date, requestID: String?, stage: String, outcome: String, reason: String,
        permission: String?, rule: String?, policyRevision: String?, actor: AuditActor, resource: AuditResource, client: AuditClient,
        permissions: PermissionSet? = nil
    ) -> PreparedRecord {
        let id = id ?? TimeOrderedID.uuidString(at: date)
        let tenant = actor.tenant ?? resource.tenant
        let createdAt = Timestamp.format(date)
        var json = CompactJSON()
        json.open()
        json.open("actor")
        if let act = actor.act, let encoded = try? JSONCoding.string(act) { json.field("act", json: encoded.utf8) }
        json.field("permissions", permissions?.digest)
        json.field("sub", actor.sub)
        json.field("tenant", actor.tenant)
        json.field("tokenId", actor.tokenID)
        json.field("type", actor.type)
        json.close()
        json.open("client")
        json.field("ip", client.ip)
        json.field("userAgent", client.userAgent)
        json.close()
        json.field("createdAt", createdAt)
        json.field("id", id)
        json.field("name", DecisionPayload.eventName)
        json.field("outcome", outcome)
        json.field("payload", json: "{}".utf8)
        json.field("permission", permission)
        json.field("policyRevision", policyRevision)
        json.field("reason", reason)
        json.field("requestId", requestID)
        json.open("resource")
        json.field("id", resource.id)
        json.field("method", resource.method)
        json.field("path", resource.path)
        json.field("tenant", resource.tenant)
        json.field("type", resource.type)
        json.close()
        json.field("rule", rule)
        json.key("seq")
        let beforeSeq = json.bytes
        var rest = CompactJSON(capacity: 96)
        rest.field("serviceName", "gateway")
        rest.field("stage", stage)
        rest.field("tenant", tenant)
        rest.close()
        // `rest` began as a new object, so its fields follow the seq number after a comma.
        return PreparedRecord(
            id: id, createdMilliseconds: Timestamp.milliseconds(date), name: DecisionPayload.eventName, serviceName: "gateway",
            requestID: requestID, outcome: outcome, actorSub: actor.sub, tenant: tenant, permissionSet: permissions, beforeSeq: beforeSeq,
            afterSeq: [UInt8(ascii: ",")] + rest.bytes)
    }
}
