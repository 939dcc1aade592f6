import Foundation
public import Hummingbird

/// The request's query parameters with names and values percent-decoded, so that `page[size]` and
/// `page%5Bsize%5D` mean the same (HTTP clients encode the brackets; Hummingbird decodes only values).
///
/// `+` stays a plus sign: filters carry RFC 3339 times such as `2026-01-01T00:00:00+00:00`. The first of
/// repeated parameters wins; a part that does not decode is ignored.
public struct QueryParameters: Sendable {
    private let values: [String: String]

    public init(_ request: Request) {
        var values: [String: String] = [:]
        for part in (request.uri.query ?? "").split(separator: "&", omittingEmptySubsequences: true) {
            let pair = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = pair[0].removingPercentEncoding, !name.isEmpty else { continue }
            guard let value = pair.count > 1 ? pair[1].removingPercentEncoding : "" else { continue }
            if values[name] == nil {
                values[name] = value
            }
        }
        self.values = values
    }

    public subscript(name: String) -> String? {
        self.values[name]
    }
}
