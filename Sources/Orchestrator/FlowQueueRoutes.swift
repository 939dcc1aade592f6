import Foundation
public import GatewayKit
import Hummingbird
public import Messaging
import PortcullisCore
public import Storage
import Synchronization

/// The flow queue API for components (API.md §6): lease with long-poll, ack, nack, and emit along the
/// flow's edges. Each route needs `queues.consume` (`policies/routes.yaml`) and ownership of the flow
/// (``FlowQueueAccess``).
public struct FlowQueueRoutes: Sendable {
    static let leaseLimits = (max: 1...100, visibilitySeconds: 1...3600, waitSeconds: 0...20)
    static let maximumRetryAfterSeconds = 86_400

    let access: FlowQueueAccess
    let queues: DatabaseWorkQueue
    let database: any Database
    let waiters = Waiters(limit: 256)

    /// How many leases wait for messages in this process.
    final class Waiters: Sendable {
        let limit: Int
        let count = Mutex(0)

        init(limit: Int) {
            self.limit = limit
        }

        func enter() -> Bool {
            self.count.withLock { count in
                guard count < self.limit else { return false }
                count += 1
                return true
            }
        }

        func leave() {
            self.count.withLock { $0 -= 1 }
        }
    }

    public init(access: FlowQueueAccess, queues: DatabaseWorkQueue, database: any Database) {
        self.access = access
        self.queues = queues
        self.database = database
    }

    struct LeaseRequest: Decodable {
        let max: Int?
        let visibilitySeconds: Int?
        let waitSeconds: Int?
    }

    struct SettleRequest: Decodable {
        let leaseID: String
        let retryAfterSeconds: Int?

        enum CodingKeys: String, CodingKey {
            case leaseID = "leaseId"
            case retryAfterSeconds
        }
    }

    struct EmitRequest: Decodable {
        let message: JSONValue
    }

    /// A leased message as the component gets it.
    struct Leased: Encodable, Sendable {
        let messageID: String
        let leaseID: String
        let attempts: Int
        let enqueuedAt: Date
        let message: JSONValue

        enum CodingKeys: String, CodingKey {
            case messageID = "messageId"
            case leaseID = "leaseId"
            case attempts, enqueuedAt, message
        }
    }

    struct Emitted: Encodable, Sendable {
        let messageID: String
        let targets: [String]

        enum CodingKeys: String, CodingKey {
            case messageID = "messageId"
            case targets
        }
    }

    public func register(on routes: RouteRegistry) {
        let base = "/flows/{id}/steps/{stepId}/messages"
        routes.post("\(base)/lease") { request, context in
            let step = try await self.step(context)
            let body =
                try await Self.optionalBody(LeaseRequest.self, request, context) ?? LeaseRequest(max: nil, visibilitySeconds: nil, waitSeconds: nil)
            let max = try Self.bounded(body.max, default: 1, within: Self.leaseLimits.max, "max")
            let visibility = try Self.bounded(body.visibilitySeconds, default: 30, within: Self.leaseLimits.visibilitySeconds, "visibilitySeconds")
            let wait = try Self.bounded(body.waitSeconds, default: 0, within: Self.leaseLimits.waitSeconds, "waitSeconds")
            // Waiting leases are bounded per process; past the bound a lease answers at once instead of waiting.
            let waits = wait > 0 && self.waiters.enter()
            defer { if waits { self.waiters.leave() } }
            let messages = try await self.queues.lease(step.queue, max: max, visibility: .seconds(visibility), wait: .seconds(waits ? wait : 0))
            // A long wait may outlive the run the caller was checked for: what the next run queued is not theirs.
            if !messages.isEmpty, !(try await self.database.withConnection { try await self.access.stillRunning(step, on: $0, holdingRow: false) }) {
                for leaseID in Set(messages.map(\.leaseID)) { _ = try? await self.queues.release(step.queue, leaseID: leaseID) }
                throw FlowQueueAccess.notFound
            }
            let leased = messages.map {
                Leased(
                    messageID: $0.messageID, leaseID: $0.leaseID, attempts: $0.attempts, enqueuedAt: $0.enqueuedAt,
                    message: (try? JSONCoding.decode(JSONValue.self, from: $0.body)) ?? .string($0.body))
            }
            return DataEnvelope(leased)
        }
        routes.post("\(base)/{messageId}/ack") { request, context in
            let step = try await self.step(context)
            let body = try await JSONBody.decode(SettleRequest.self, from: request, context: context)
            guard try await self.queues.ack(step.queue, messageID: try Self.messageID(context), leaseID: body.leaseID) else {
                throw Self.staleLease
            }
            return HTTPResponse.Status.noContent
        }
        routes.post("\(base)/{messageId}/nack") { request, context in
            let step = try await self.step(context)
            let body = try await JSONBody.decode(SettleRequest.self, from: request, context: context)
            let retryAfter = try body.retryAfterSeconds.map {
                Duration.seconds(try Self.bounded($0, default: 0, within: 0...Self.maximumRetryAfterSeconds, "retryAfterSeconds"))
            }
            let outcome = try await self.queues.nack(
                step.queue, messageID: try Self.messageID(context), leaseID: body.leaseID, retryAfter: retryAfter, error: "nacked by the component")
            guard outcome != .staleLease else { throw Self.staleLease }
            return HTTPResponse.Status.noContent
        }
        routes.post(base) { request, context in
            let step = try await self.step(context)
            let body = try await JSONBody.decode(EmitRequest.self, from: request, context: context)
            guard body.message != .null else { throw APIError.badRequest("MISSING_FIELD", "Missing field 'message'.") }
            // Fan-out multiplies what one request writes: the copies together stay within the body limit.
            let size = try JSONCoding.string(body.message).utf8.count
            guard size * max(1, step.targets.count) <= context.maxUploadSize else { throw APIError.payloadTooLarge(limit: context.maxUploadSize) }
            let messageID = TimeOrderedID.uuidString()
            let queues = self.queues
            do {
                // Locks in one order with the orchestrator's rounds (`Orchestrator.handle`), so the two cannot
                // deadlock on PostgreSQL: the flow's lifecycle lock (shared here, exclusive in a start or stop),
                // the flow's row (shared here, for update there), then the target queues (shared here; only a
                // start or stop takes them exclusively). The lifecycle lock queues fairly, so emits that never
                // pause cannot hold a stop off, as they could with the row's lock alone (see `KeyedLock`).
                try await self.database.transaction { connection in
                    try await connection.hold(.flowLifecycle, key: step.flowID, mode: .shared)
                    guard try await self.access.stillRunning(step, on: connection, holdingRow: true) else { throw FlowQueueAccess.notFound }
                    for target in step.targets {
                        try await queues.enqueue(
                            intoProvisioned: target.queue, round: step.round, messageID: messageID, message: body.message, on: connection)
                    }
                }
            } catch is QueueNotProvisioned {
                throw FlowQueueAccess.notFound
            }
            var response = try DataEnvelope(Emitted(messageID: messageID, targets: step.targets.map(\.nodeID))).response(
                from: request, context: context)
            response.status = .accepted
            return response
        }
    }

    static let staleLease = APIError.conflict("STALE_LEASE", "The lease is not current: it expired, or the message was settled already.")

    func step(_ context: GatewayRequestContext) async throws -> FlowQueueAccess.Step {
        guard let flowID = context.parameters.get("id"), let nodeID = context.parameters.get("stepId") else { throw FlowQueueAccess.notFound }
        return try await self.access.step(flowID: flowID, nodeID: nodeID, caller: try context.requirePrincipal(), decisions: context.decisions)
    }

    static func messageID(_ context: GatewayRequestContext) throws -> String {
        guard let id = context.parameters.get("messageId"), (1...200).contains(id.utf8.count) else { throw FlowQueueAccess.notFound }
        return id
    }

    /// The body when the request has one; nil for an empty body (all fields have defaults).
    static func optionalBody<Value: Decodable>(_ type: Value.Type, _ request: Request, _ context: GatewayRequestContext) async throws -> Value? {
        if request.headers[.contentType] == nil, request.headers[.contentLength] == nil || request.headers[.contentLength] == "0" {
            return nil
        }
        return try await JSONBody.decode(type, from: request, context: context)
    }

    static func bounded(_ value: Int?, default fallback: Int, within range: ClosedRange<Int>, _ name: String) throws -> Int {
        guard let value else { return fallback }
        guard range.contains(value) else {
            throw APIError.badRequest("INVALID_FIELD", "\(name) must be between \(range.lowerBound) and \(range.upperBound).")
        }
        return value
    }
}
