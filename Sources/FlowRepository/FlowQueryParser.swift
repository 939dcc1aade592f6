public import GatewayKit
public import PortcullisCore

/// Reads `GET /flows`'s filters, search and sort (API.md §3); anything it does not understand is a 400
/// naming the parameter, never an empty list.
public enum FlowQueryParser {
    public static let maximumSearch = 200

    /// Every parameter `GET /flows` understands; any other is a 400, so that a misspelt filter does not
    /// silently answer every flow.
    public static let known: Set<String> = [
        "filter[status]", "filter[type]", "filter[user]", "search", "sort", "page[size]", "page[number]",
    ]

    public static func parse(_ parameters: QueryParameters) throws(APIError) -> FlowQuery {
        guard !parameters.hasMalformedParts else {
            throw APIError.badRequest("INVALID_QUERY", "The query has a parameter twice, or one that is not valid percent-encoded UTF-8.")
        }
        for name in parameters.names where (name + (parameters[name] ?? "")).unicodeScalars.contains(where: { $0.value < 0x20 }) {
            throw APIError.badRequest("INVALID_QUERY", "Query parameters must not contain control characters.")
        }
        if let unknown = parameters.names.subtracting(Self.known).sorted().first {
            throw APIError.badRequest("UNKNOWN_PARAMETER", "Unknown query parameter \(unknown.utf8Prefix(64)).")
        }
        var query = FlowQuery(visibleTo: [])
        if let status = parameters["filter[status]"] {
            switch status.lowercased() {
            case "active", "1": query.status = .active
            case "inactive", "0": query.status = .inactive
            case "starting": query.status = .starting
            case "stopping": query.status = .stopping
            default: throw APIError.badRequest("INVALID_FILTER", "filter[status] must be active (1), inactive (0), starting or stopping.")
            }
        }
        if let type = parameters["filter[type]"] {
            guard FlowValidator.flowTypes.contains(type) else {
                throw APIError.badRequest("INVALID_FILTER", "filter[type] must be ordinary or long_running.")
            }
            query.type = type
        }
        if let user = parameters["filter[user]"] {
            guard (1...64).contains(user.unicodeScalars.count) else {
                throw APIError.badRequest("INVALID_FILTER", "filter[user] must be an account id.")
            }
            query.owner = user
        }
        if let search = parameters["search"] {
            guard search.unicodeScalars.count <= Self.maximumSearch else {
                throw APIError.badRequest("INVALID_SEARCH", "search may have at most \(Self.maximumSearch) characters.")
            }
            query.search = search
        }
        if let sort = parameters["sort"] {
            let descending = sort.hasPrefix("-")
            guard let key = FlowQuery.SortKey(rawValue: descending ? String(sort.dropFirst()) : sort) else {
                throw APIError.badRequest("INVALID_SORT", "sort must be createdAt, updatedAt or name, with a leading - for descending order.")
            }
            query.sort = key
            query.descending = descending
        }
        return query
    }
}
