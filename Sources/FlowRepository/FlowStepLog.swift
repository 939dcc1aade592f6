import Foundation
public import GatewayKit
public import Messaging
public import PortcullisCore

/// `GET /flows/{id}/steps/{stepId}/logs` in OIH's shape `{data:[{timestamp,message}],meta:{pageSize,
/// nextPageToken}}`: what happened to the messages of the step's queue (``QueueJournal``), with ids and
/// attempts, never bodies. The page token is the last entry's position; the page size is capped as
/// every page is (API.md §10).
public struct FlowStepLog: Sendable {
    public static let defaultPageSize = 100
    public static let maximumPageSize = 100
    public static let stepNotFound = APIError.notFound("No step found")

    let messages: MessageStore
    let access: FlowAccess

    public init(messages: MessageStore, access: FlowAccess) {
        self.messages = messages
        self.access = access
    }

    /// One page of the log.
    public struct Page: Encodable, Sendable {
        public struct Line: Encodable, Sendable {
            public struct Message: Encodable, Sendable {
                let msg: String
                let event: String
                let messageID: String
                let attempts: Int

                enum CodingKeys: String, CodingKey {
                    case msg, event
                    case messageID = "messageId"
                    case attempts
                }
            }

            let timestamp: Date
            let message: Message
        }

        public struct Meta: Encodable, Sendable {
            let pageSize: Int
            let nextPageToken: String?
        }

        let data: [Line]
        let meta: Meta
    }

    public func page(flowID: String, stepID: String, pageSize: String?, pageToken: String?, by caller: FlowCaller) async throws -> Page {
        let size = try Self.size(pageSize)
        let after = try Self.position(pageToken)
        let flow = try await self.access.visible(flowID, to: caller)
        guard flow.draft.graph.nodes.contains(where: { $0.id == stepID }) else { throw Self.stepNotFound }
        let entries = try await self.messages.journal(
            queue: FlowQueueNames.messages(flowID: flow.id, nodeID: stepID), after: after, limit: size + 1)
        let shown = entries.prefix(size)
        let lines = shown.map { entry in
            Page.Line(
                timestamp: entry.at,
                message: .init(
                    msg: "Message \(entry.messageID) \(entry.kind.rawValue) (attempt \(entry.attempts)).", event: entry.kind.rawValue,
                    messageID: entry.messageID, attempts: entry.attempts))
        }
        let next = entries.count > size ? shown.last.map { String($0.seq) } : nil
        return Page(data: lines, meta: .init(pageSize: size, nextPageToken: next))
    }

    static func size(_ text: String?) throws -> Int {
        guard let text else { return Self.defaultPageSize }
        guard let size = Int(text), (1...Self.maximumPageSize).contains(size) else {
            throw APIError.badRequest("INVALID_PAGE", "pageSize must be between 1 and \(Self.maximumPageSize).")
        }
        return size
    }

    static func position(_ token: String?) throws -> Int64? {
        guard let token else { return nil }
        guard let position = Int64(token), position > 0 else {
            throw APIError.badRequest("INVALID_PAGE_TOKEN", "pageToken is not one this server gave.")
        }
        return position
    }
}
