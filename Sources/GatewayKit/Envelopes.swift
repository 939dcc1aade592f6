public import Hummingbird
public import PortcullisCore

/// `{"data":{...},"meta":{}}`: a single object (API.md §0).
public struct DataEnvelope<Value: Encodable & Sendable>: ResponseEncodable, Sendable {
    public let data: Value
    public let meta: [String: Int]

    public init(_ data: Value) {
        self.data = data
        self.meta = [:]
    }
}

/// `{"data":[...],"meta":{"total","page","perPage","totalPages"}}`: one page of a collection.
public struct PageEnvelope<Value: Encodable & Sendable>: ResponseEncodable, Sendable {
    public struct Meta: Encodable, Sendable {
        public let total: Int
        public let page: Int
        public let perPage: Int
        public let totalPages: Int
    }

    public let data: [Value]
    public let meta: Meta

    public init(_ data: [Value], total: Int, page: Pagination) {
        self.data = data
        self.meta = Meta(total: total, page: page.number, perPage: page.size, totalPages: total == 0 ? 0 : (total + page.size - 1) / page.size)
    }

    /// The requested page of a collection held whole in memory (the catalog, a tenant's roles).
    public init(paging all: [Value], page: Pagination) {
        let start = min(page.offset, all.count)
        self.init(Array(all[start..<min(start + page.size, all.count)]), total: all.count, page: page)
    }
}
