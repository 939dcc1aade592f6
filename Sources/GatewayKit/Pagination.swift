public import Hummingbird
public import PortcullisCore

/// `page[size]` (1...100, default 10) and `page[number]` (from 1, default 1); anything else is a 400.
public struct Pagination: Sendable, Equatable {
    public let size: Int
    public let number: Int

    public var offset: Int { (self.number - 1) * self.size }

    public init(size: Int = 10, number: Int = 1) {
        self.size = size
        self.number = number
    }

    public init(_ request: Request) throws(APIError) {
        let query = QueryParameters(request)
        var problems: [(reason: String, message: String)] = []
        var size = 10
        var number = 1
        if let text = query["page[size]"] {
            if let value = Int(text), (1...100).contains(value) {
                size = value
            } else {
                problems.append(("INVALID_PAGE", "page[size] must be an integer from 1 to 100."))
            }
        }
        if let text = query["page[number]"] {
            if let value = Int(text), value >= 1, value <= 1_000_000 {
                number = value
            } else {
                problems.append(("INVALID_PAGE", "page[number] must be a positive integer."))
            }
        }
        guard problems.isEmpty else { throw APIError.validation(problems) }
        self.init(size: size, number: number)
    }
}
