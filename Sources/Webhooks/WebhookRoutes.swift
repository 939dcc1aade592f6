import Foundation
public import GatewayKit
import HTTPTypes
import Hummingbird
import Logging
public import Messaging
import NIOCore
public import Policy
public import PortcullisCore
public import Storage

/// `HEAD|GET|POST /hook/{flowId}[/{suffix}]` (API.md §4): a call to an active webhook flow becomes one
/// message on its first node's queue, and the answer `thank you` is sent only once that message is
/// durably there. The route is public in `policies/routes.yaml`; the module applies the flow's own
/// authentication (none, HMAC or Bearer) to GET and POST alike, and records its decision.
public struct WebhookRoutes: Sendable {
    /// Every answer takes at least this long, so that the quick 404 of an unknown flow does not stand out
    /// from the slower answers of a known one by its timing (the status still differs: an active flow answers
    /// 200 or 401; flow ids are 96 random bits).
    public static let minimumResponseTime: Duration = .milliseconds(50)

    let flows: WebhookFlows
    let database: any Database
    let queues: DatabaseWorkQueue
    let sealer: WebhookSecretSealer
    let policies: PolicyStore

    public init(flows: WebhookFlows, database: any Database, queues: DatabaseWorkQueue, sealer: WebhookSecretSealer, policies: PolicyStore) {
        self.flows = flows
        self.database = database
        self.queues = queues
        self.sealer = sealer
        self.policies = policies
    }

    public func register(on routes: RouteRegistry) {
        for template in ["/hook/{flowId}", "/hook/{flowId}/{suffix}"] {
            // HEAD comes with GET (the router answers HEAD for every GET route); it enqueues nothing.
            for method in [HTTPRequest.Method.get, .post] {
                routes.on(template, method: method) { request, context in
                    try await self.answer(request, context: context)
                }
            }
        }
    }

    static func inactive(_ flowID: String) -> APIError {
        APIError.notFound("Flow \(flowID.utf8Prefix(64)) either does not exist or is inactive.", reason: "FLOW_NOT_ACTIVE")
    }

    func answer(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let started = ContinuousClock.now
        do {
            // Accepted calls are answered at once: their 200 already says the flow exists and runs, so a
            // floor would only cap throughput. Every refusal takes the same minimum time.
            return try await self.handle(request, context: context)
        } catch {
            try? await Task.sleep(until: started + Self.minimumResponseTime)
            throw error
        }
    }

    func handle(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let flowID = context.parameters.get("flowId") ?? ""
        let method = request.method.rawValue
        if request.method == .post, request.headers[.contentType] == nil {
            throw APIError.unsupportedMediaType("A webhook POST needs a Content-Type.")
        }
        let flow = try await self.flows.find(flowID)
        guard let flow, flow.receives, let queue = flow.queue else {
            try await self.record(.deny, "FLOW_NOT_ACTIVE", flowID: flowID, tenant: nil, context: context)
            throw Self.inactive(flowID)
        }
        // The raw body, for the signature and the message, within the gateway's body limit.
        let body: Data
        do {
            body = Data((try await request.body.collect(upTo: context.maxUploadSize)).readableBytesView)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw APIError.payloadTooLarge(limit: context.maxUploadSize)
        } catch is NIOTooManyBytesError {
            throw APIError.payloadTooLarge(limit: context.maxUploadSize)
        }
        var hidden: Set<String> = ["authorization", "proxy-authorization", "cookie"]
        switch flow.authentication {
        case .none:
            try await self.record(.allow, "OPEN_WEBHOOK", flowID: flowID, tenant: flow.tenant, context: context)
        case .hmac(let header, let algorithm):
            hidden.insert(header)
            guard let secret = flow.sealedSecret.flatMap({ self.sealer.open($0, flowID: flow.flowID) }) else {
                // Not the caller's fault: a secret that does not open under this master key.
                context.logger.error("a webhook secret does not open", metadata: ["flow.id": .string(flow.flowID)])
                throw APIError.serviceUnavailable("WEBHOOK_SECRET_UNAVAILABLE", "The webhook's secret cannot be read; try again later.")
            }
            let signature = HTTPField.Name(header).flatMap { request.headers[$0] }
            guard WebhookSignature.verify(signature, body: body, secret: secret, algorithm: algorithm) else {
                try await self.record(
                    .deny, signature == nil ? "HMAC_MISSING" : "HMAC_INVALID", flowID: flowID, tenant: flow.tenant, context: context)
                throw APIError.unauthorized("INVALID_SIGNATURE", "The webhook signature is missing or does not match the body.")
            }
            try await self.record(.allow, "HMAC_VALID", flowID: flowID, tenant: flow.tenant, context: context)
        case .bearer:
            guard let principal = context.principal else {
                try await self.record(.deny, "UNAUTHENTICATED", flowID: flowID, tenant: flow.tenant, context: context)
                throw APIError.unauthorized("UNAUTHENTICATED", "This webhook needs a bearer token.")
            }
            let authorizer = self.policies.current.authorizer
            // Tenant isolation before ownership: another tenant's caller gets the unknown flow's answer. (A call
            // without a token gets 401 first, as API.md §10 asks, before the flow's tenant is known to matter.)
            guard authorizer.admits(principal, toTenant: flow.tenant) else {
                // Recorded as a missing flow is: the caller's own audit trail tells them apart no better.
                try await self.record(.deny, "FLOW_NOT_ACTIVE", flowID: flowID, tenant: nil, context: context)
                throw Self.inactive(flowID)
            }
            let ownership = authorizer.decide(principal, platform: "all", ownedBy: Set(flow.owners))
            guard ownership.allowed else {
                try await self.record(.deny, "NOT_OWNER", flowID: flowID, tenant: flow.tenant, context: context)
                throw APIError.forbidden("NOT_OWNER", "Only the flow's owners call its webhook.")
            }
            let permitted = authorizer.decide(principal, RouteAccess.allOf(["webhooks.execute"]))
            guard permitted.allowed else {
                try await self.record(.deny, "MISSING_PERMISSION", flowID: flowID, tenant: flow.tenant, context: context)
                throw APIError.missingPermission("webhooks.execute")
            }
            try await self.record(.allow, ownership.reason, flowID: flowID, tenant: flow.tenant, context: context)
        }
        // Checked once the caller is let in (refusing the caller comes first). A GET's data is its query, and
        // its HMAC covers the empty body (API.md §10): a body would be signed but never delivered, so a
        // captured signature of one could vouch for any query.
        if request.method != .post, !body.isEmpty {
            throw APIError.badRequest("INVALID_BODY", "A webhook \(method) has no body; send data in the query, or POST it.")
        }
        if request.method == .head {
            return Response(status: .ok)
        }
        let suffix = context.parameters.get("suffix")
        let call = WebhookRequest(
            method: method, path: request.uri.path, query: request.uri.query, headers: request.headers.map { ($0.name.canonicalName, $0.value) },
            contentType: request.headers[.contentType], body: body, pathSuffix: suffix)
        let messageID = TimeOrderedID.uuidString()
        let message: JSONValue
        do {
            message = try call.message(id: messageID, requestID: context.requestID.value, hidden: hidden)
        } catch {
            throw APIError.badRequest("INVALID_BODY", error.message)
        }
        // Durably on the queue before the answer: the enqueue commits first, into the queue of the run whose
        // settings checked the call only (a stop that removed it in the meantime, or a restart that made it
        // another run's, makes this a 404, never a lost "thank you" or a call checked under old settings).
        // The flow's lifecycle lock (shared) first: a stop waiting for the queue goes ahead of later calls, so
        // callers that never pause cannot hold it off (see `KeyedLock`).
        do {
            try await self.database.transaction { connection in
                try await connection.hold(.flowLifecycle, key: flowID, mode: .shared)
                try await self.queues.enqueue(intoProvisioned: queue, round: flow.round, messageID: messageID, message: message, on: connection)
            }
        } catch is QueueNotProvisioned {
            throw Self.inactive(flowID)
        }
        return try DataEnvelope(["requestId": context.requestID.value, "message": "thank you"]).response(from: request, context: context)
    }

    /// The webhook's decision, recorded as a resource decision of the request.
    func record(_ outcome: Decision.Outcome, _ reason: String, flowID: String, tenant: String?, context: GatewayRequestContext) async throws {
        let required = context.principal == nil ? [] : ["webhooks.execute"]
        let decision = Decision(outcome: outcome, reason: reason, required: required, policyRevision: self.policies.current.revision)
        try await context.decisions.record(
            decision, about: nil, resource: ResourceRef(type: "webhook", id: flowID.utf8Prefix(64), tenant: tenant))
    }
}
