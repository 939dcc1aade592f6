public import Foundation

/// A message that failed every attempt, kept for an operator to inspect, replay or purge.
public struct DeadLetter: Sendable, Hashable, Codable {
    public let id: String
    public let queue: String
    public let messageID: String
    public let body: String
    public let attempts: Int
    public let enqueuedAt: Date
    public let failedAt: Date
    public let lastError: String

    /// Wire names as in the contract (`...Id`); Swift spells the acronym `ID`.
    enum CodingKeys: String, CodingKey {
        case id
        case queue
        case messageID = "messageId"
        case body
        case attempts
        case enqueuedAt
        case failedAt
        case lastError
    }
}
