import Foundation
public import Hummingbird

/// The request's query parameters with names and values percent-decoded, so that `page[size]` and
/// `page%5Bsize%5D` mean the same (HTTP clients encode the brackets; Hummingbird decodes only values).
///
/// `+` stays a plus sign: filters carry RFC 3339 times such as `2026-01-01T00:00:00+00:00`. The first of
/// repeated parameters wins; a part that does not decode is ignored.
public struct QueryParameters: Sendable {
    private let values: [String: String]
    /// Whether a part was left out because it did not decode (invalid percent-escapes or UTF-8), or a
    /// name came twice: endpoints that refuse what they do not understand answer 400 for it.
    public let hasMalformedParts: Bool

    public init(_ request: Request) {
        var values: [String: String] = [:]
        var malformed = false
        for part in (request.uri.query ?? "").split(separator: "&", omittingEmptySubsequences: true) {
            let pair = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = pair[0].removingPercentEncoding, !name.isEmpty,
                let value = pair.count > 1 ? pair[1].removingPercentEncoding : ""
            else {
                malformed = true
                continue
            }
            if values[name] == nil {
                values[name] = value
            } else {
                malformed = true
            }
        }
        self.values = values
        self.hasMalformedParts = malformed
    }

    public subscript(name: String) -> String? {
        self.values[name]
    }

    /// The names of the parameters the request carries, decoded.
    public var names: Set<String> {
        Set(self.values.keys)
    }
}
