import Foundation
import GatewayKit
import Hummingbird
import PortcullisCore

/// `application/x-www-form-urlencoded` bodies, as the OAuth endpoints take them (RFC 6749 §4).
enum FormBody {
    /// The parameters of the body; a missing or other content type, a repeated parameter or a bad
    /// percent-escape is `invalid_request`.
    static func parse(_ request: Request, context: GatewayRequestContext) async throws -> [String: String] {
        let contentType = request.headers[.contentType]?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased()
        guard contentType == "application/x-www-form-urlencoded" else {
            throw OAuthHTTPError("invalid_request", "The body must be application/x-www-form-urlencoded.")
        }
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: context.maxUploadSize)
        } catch {
            throw APIError.payloadTooLarge(limit: context.maxUploadSize)
        }
        var form: [String: String] = [:]
        for pair in String(buffer: buffer).split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = decode(parts[0]), let value = decode(parts.count > 1 ? parts[1] : "") else {
                throw OAuthHTTPError("invalid_request", "The body has an invalid percent-encoding.")
            }
            guard form[name] == nil else { throw OAuthHTTPError("invalid_request", "The parameter \(name) is repeated.") }
            form[name] = value
        }
        return form
    }

    static func decode(_ text: Substring) -> String? {
        text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding
    }
}

/// An OAuth error raised by the HTTP layer itself (before the grant logic runs).
struct OAuthHTTPError: Error {
    let error: String
    let description: String

    init(_ error: String, _ description: String) {
        self.error = error
        self.description = description
    }
}
