public import Foundation

/// The headers of an event, as OIH services exchange them.
public struct EventHeaders: Codable, Sendable, Hashable {
    /// Unique per event; consumers use it to recognise a redelivery.
    public var id: String
    /// The topic, e.g. `flow.starting`; patterns match against it.
    public var name: String
    /// RFC 3339 with milliseconds, set once by the publisher and preserved to every consumer.
    public var createdAt: String
    public var serviceName: String
    public var requestID: String?
    public var tenant: String?

    /// Wire names as in the contract (`...Id`); Swift spells the acronym `ID`.
    enum CodingKeys: String, CodingKey {
        case id
        case name
        case createdAt
        case serviceName
        case requestID = "requestId"
        case tenant
    }
    public init(id: String, name: String, createdAt: String, serviceName: String, requestID: String? = nil, tenant: String? = nil) {
        self.id = id
        self.name = name
        self.createdAt = createdAt
        self.serviceName = serviceName
        self.requestID = requestID
        self.tenant = tenant
    }
}

/// The envelope every event travels in: `{"headers":{...},"payload":{...}}` (API.md §8).
public struct Event: Codable, Sendable, Hashable {
    public var headers: EventHeaders
    public var payload: JSONValue

    public init(headers: EventHeaders, payload: JSONValue) {
        self.headers = headers
        self.payload = payload
    }

    /// A new event with a fresh id, created at `now` (the publisher's injected clock).
    ///
    /// ```swift
    /// let event = try Event(name: "flow.starting", serviceName: "flow-repository", payload: flow, now: clock.now)
    /// ```
    public init(
        name: String,
        serviceName: String,
        payload: some Encodable,
        requestID: String? = nil,
        tenant: String? = nil,
        now: Date
    ) throws {
        self.headers = EventHeaders(
            id: TimeOrderedID.uuidString(at: now),
            name: name,
            createdAt: Timestamp.format(now),
            serviceName: serviceName,
            requestID: requestID,
            tenant: tenant
        )
        self.payload = try JSONValue(encoding: payload)
    }

    public var name: String { self.headers.name }
    public var id: String { self.headers.id }
}
