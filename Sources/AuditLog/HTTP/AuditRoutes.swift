import Foundation
public import GatewayKit
import Hummingbird
public import Policy
public import PortcullisCore

/// `/logs`: reading, pushing and verifying the audit log (API.md §7).
public struct AuditRoutes: Sendable {
    let chain: AuditChain
    let policies: PolicyStore
    let clock: WallClock

    public init(chain: AuditChain, policies: PolicyStore, clock: WallClock) {
        self.chain = chain
        self.policies = policies
        self.clock = clock
    }

    /// `{name, payload?, tenant?}`, or OIH's event shape `{headers:{name,...}, payload}` so that OIH services
    /// push unchanged (their `headers.serviceName` is ignored: the token names the service).
    struct PushBody: Decodable {
        struct Headers: Decodable {
            let name: String?
        }
        let name: String?
        let headers: Headers?
        let payload: JSONValue?
        let tenant: String?
    }

    /// The filters `GET /logs` accepts, each at most this long.
    static let maxFilterLength = 200

    /// The largest `payload` a pushed record may carry (encoded), and the largest request body read for one.
    static let maxPushPayloadBytes = 64 * 1024
    static let maxPushBodyBytes = 128 * 1024

    /// Record names only Portcullis writes: a pushed record must not pass for a decision, a login or a flow change.
    static let reservedPrefixes = ["audit.authz.", "audit.iam.", "audit.policy.", "audit.log.", "audit.flow."]

    public func register(on routes: RouteRegistry) {
        routes.read("/logs") { request, context in
            let page = try Pagination(request)
            let principal = try context.requirePrincipal()
            let query = try self.query(request, visibility: self.visibility(of: principal))
            let (items, total) = try await self.chain.list(query, offset: page.offset, limit: page.size)
            return PageEnvelope(items, total: total, page: page)
        }
        routes.post("/logs") { request, context in
            var limited = context
            limited.maxUploadSize = min(context.maxUploadSize, Self.maxPushBodyBytes)
            let body = try await JSONBody.decode(PushBody.self, from: request, context: limited)
            let principal = try context.requirePrincipal()
            let record = try await self.pushed(body, by: principal, context: context, userAgent: request.headers[.userAgent])
            return EditedResponse(status: .created, response: DataEnvelope(try await self.chain.append(record)))
        }
        routes.read("/logs/verify") { _, _ in
            DataEnvelope(try await self.chain.verify())
        }
    }

    /// Platform admins read every record; everyone else the records of their tenant and of their own actions.
    func visibility(of principal: Principal) -> AuditQuery.Visibility {
        self.policies.current.authorizer.holds(principal, PermissionCatalog.all)
            ? .all : .own(tenant: principal.tenant, actor: principal.accountID)
    }

    func query(_ request: Request, visibility: AuditQuery.Visibility) throws -> AuditQuery {
        let parameters = QueryParameters(request)
        var problems: [(reason: String, message: String)] = []
        func text(_ name: String) -> String? {
            guard let value = parameters[name] else { return nil }
            guard !value.isEmpty, value.count <= Self.maxFilterLength else {
                problems.append(("INVALID_FILTER", "\(name) must be 1 to \(Self.maxFilterLength) characters."))
                return nil
            }
            return value
        }
        func time(_ name: String) -> Date? {
            guard let value = text(name) else { return nil }
            guard let date = Timestamp.parse(value) else {
                problems.append(("INVALID_FILTER", "\(name) must be an RFC 3339 timestamp."))
                return nil
            }
            return date
        }
        var query = AuditQuery(visibility: visibility)
        query.service = text("filter[service]")
        query.name = text("filter[name]")
        query.outcome = text("filter[outcome]")
        query.actor = text("filter[actor]")
        query.tenant = text("filter[tenant]")
        query.requestID = text("filter[requestId]")
        query.origin = text("filter[origin]")
        if let origin = query.origin, origin != "push", origin != "gateway" {
            problems.append(("INVALID_FILTER", "filter[origin] must be push or gateway."))
        }
        query.from = time("from")
        query.to = time("to")
        if let outcome = query.outcome, outcome != "allow", outcome != "deny" {
            problems.append(("INVALID_FILTER", "filter[outcome] must be allow or deny."))
        }
        guard problems.isEmpty else { throw APIError.validation(problems) }
        return query
    }

    /// The record `POST /logs` appends: named `audit.<name>` (never a name reserved to Portcullis), marked
    /// `origin: "push"`, attributed to the caller's token (never to what the body claims), in the caller's
    /// tenant unless a platform admin names another.
    func pushed(_ body: PushBody, by principal: Principal, context: GatewayRequestContext, userAgent: String?) async throws -> AuditRecord {
        guard let given = body.name ?? body.headers?.name else {
            throw APIError.badRequest("MISSING_FIELD", "name is required.")
        }
        let name = given.lowercased().hasPrefix("audit.") ? given : "audit." + given
        let validWords = name.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { word in
            !word.isEmpty && word.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) && $0.isASCII || $0 == "_" || $0 == "-" }
        }
        guard name.count <= Self.maxFilterLength, validWords else {
            throw APIError.badRequest("INVALID_NAME", "name must be dot-separated words of letters, digits, '_' and '-'.")
        }
        let lowered = name.lowercased()
        if let reserved = Self.reservedPrefixes.first(where: { lowered.hasPrefix($0) || lowered == $0.dropLast() }) {
            throw APIError.badRequest("RESERVED_NAME", "Names starting with \(reserved) are reserved to Portcullis.")
        }
        let payload = body.payload ?? .object([:])
        if try JSONCoding.string(payload).utf8.count > Self.maxPushPayloadBytes {
            throw APIError(status: 413, reason: "PAYLOAD_TOO_LARGE", message: "payload may have at most \(Self.maxPushPayloadBytes) bytes.")
        }
        if let tenant = body.tenant, tenant != principal.tenant {
            // Another tenant's log: platform admins only, a recorded decision.
            let allowed = try await self.policies.current.authorizer.check(
                principal, ResourceAction(platform: PermissionCatalog.all), on: ResourceRef(type: "audit-log", id: tenant, tenant: tenant),
                recordingTo: context.decisions)
            guard allowed else { throw APIError.forbidden("FOREIGN_TENANT", "Records can only be pushed for your own tenant.") }
        }
        // serviceName is the pushing account's id: a name a tenant chooses (a username) could read "gateway".
        let now = self.clock.now
        return AuditRecord(
            id: TimeOrderedID.uuidString(at: now), createdAt: Timestamp.format(now), name: name, serviceName: principal.accountID,
            requestID: context.requestID.value, tenant: body.tenant ?? principal.tenant, actor: AuditActor(principal),
            client: AuditClient(ip: context.clientIP, userAgent: userAgent.map { $0.utf8Prefix(256) }), origin: "push", payload: payload
        )
    }
}
