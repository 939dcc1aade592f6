import Foundation
public import GatewayKit
import Hummingbird
public import Messaging
import PortcullisCore

/// Operators' view of the bus's dead letters: list, replay, purge (platform admins).
public struct DeadLetterRoutes: Sendable {
    let store: MessageStore

    public init(store: MessageStore) {
        self.store = store
    }

    /// A dead letter as listed: the stored body is shown as JSON when it is JSON.
    struct Listed: Encodable, Sendable {
        let id: String
        let queue: String
        let messageID: String
        let message: JSONValue
        let attempts: Int
        let enqueuedAt: Date
        let failedAt: Date
        let lastError: String

        enum CodingKeys: String, CodingKey {
            case id, queue
            case messageID = "messageId"
            case message, attempts, enqueuedAt, failedAt, lastError
        }

        init(_ letter: DeadLetter) {
            self.id = letter.id
            self.queue = letter.queue
            self.messageID = letter.messageID
            self.message = (try? JSONCoding.decode(JSONValue.self, from: letter.body)) ?? .string(letter.body)
            self.attempts = letter.attempts
            self.enqueuedAt = letter.enqueuedAt
            self.failedAt = letter.failedAt
            self.lastError = letter.lastError
        }
    }

    public func register(on routes: RouteRegistry) {
        routes.read("/api/v1/bus/dead-letters") { request, _ in
            let page = try Pagination(request)
            let queue = QueryParameters(request)["filter[queue]"]
            let (items, total) = try await self.store.deadLetters(queue: queue, offset: page.offset, limit: page.size)
            return PageEnvelope(items.map(Listed.init), total: total, page: page)
        }
        routes.post("/api/v1/bus/dead-letters/{id}/replay") { _, context in
            let id = try Self.id(context)
            do {
                guard try await self.store.replayDeadLetter(id: id) else { throw Self.notFound }
            } catch MessagingError.alreadyQueued {
                throw APIError.conflict("ALREADY_QUEUED", "The same message is queued again already.")
            } catch MessagingError.queueGone {
                throw APIError.conflict("QUEUE_GONE", "The message's flow is not running: its step queue is gone.")
            }
            return DataEnvelope(["id": String(id), "status": "replayed"])
        }
        routes.delete("/api/v1/bus/dead-letters/{id}") { _, context in
            guard try await self.store.purgeDeadLetter(id: try Self.id(context)) else { throw Self.notFound }
            return HTTPResponse.Status.noContent
        }
    }

    static let notFound = APIError.notFound("No dead letter found.")

    /// Dead-letter ids are positive integers; anything else is treated as unknown (404).
    static func id(_ context: GatewayRequestContext) throws -> Int64 {
        guard let text = context.parameters.get("id"), let id = Int64(text), id > 0 else { throw Self.notFound }
        return id
    }
}
