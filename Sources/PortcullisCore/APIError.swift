/// An error that maps one-to-one onto an HTTP error response of the contract (API.md §0).
///
/// Modules throw `APIError` for anything a client did or may see; the gateway turns it into the
/// `{"errors":[...]}` envelope. A validation failure carries one entry per problem found.
public struct APIError: Error, Sendable, Equatable {
    /// HTTP status code of the response.
    public var status: Int
    /// The problems, at least one.
    public var entries: [ErrorEntry]
    /// Extra response headers, for example `Allow` on 405 or `Retry-After` on 429.
    public var headers: [String: String]

    public init(status: Int, entries: [ErrorEntry], headers: [String: String] = [:]) {
        precondition(!entries.isEmpty, "an APIError needs at least one entry")
        self.status = status
        self.entries = entries
        self.headers = headers
    }

    public init(status: Int, reason: String, message: String, headers: [String: String] = [:]) {
        self.init(status: status, entries: [ErrorEntry(code: status, message: message, reason: reason)], headers: headers)
    }

    /// The body to send for this error.
    public var envelope: ErrorEnvelope { ErrorEnvelope(errors: self.entries) }

    /// The first entry's reason, the one that names the error as a whole.
    public var reason: String { self.entries[0].reason }
}

extension APIError {
    public static func badRequest(_ reason: String, _ message: String) -> APIError {
        APIError(status: 400, reason: reason, message: message)
    }

    /// A validation failure with every problem found, one entry each.
    public static func validation(_ problems: [(reason: String, message: String)]) -> APIError {
        APIError(status: 400, entries: problems.map { ErrorEntry(code: 400, message: $0.message, reason: $0.reason) })
    }

    public static func unauthorized(_ reason: String = "UNAUTHORIZED", _ message: String = "Authentication required") -> APIError {
        APIError(status: 401, reason: reason, message: message, headers: ["WWW-Authenticate": "Bearer"])
    }

    public static func forbidden(_ reason: String, _ message: String) -> APIError {
        APIError(status: 403, reason: reason, message: message)
    }

    public static func notFound(_ message: String = "Not found", reason: String = "NOT_FOUND") -> APIError {
        APIError(status: 404, reason: reason, message: message)
    }

    public static func methodNotAllowed(allowed: [String]) -> APIError {
        APIError(
            status: 405,
            reason: "METHOD_NOT_ALLOWED",
            message: "Method not allowed; allowed: \(allowed.joined(separator: ", "))",
            headers: ["Allow": allowed.joined(separator: ", ")]
        )
    }

    public static func conflict(_ reason: String, _ message: String) -> APIError {
        APIError(status: 409, reason: reason, message: message)
    }

    public static func payloadTooLarge(limit: Int) -> APIError {
        APIError(status: 413, reason: "BODY_TOO_LARGE", message: "Request body is larger than \(limit) bytes")
    }

    public static func unsupportedMediaType(_ message: String) -> APIError {
        APIError(status: 415, reason: "UNSUPPORTED_MEDIA_TYPE", message: message)
    }

    public static func serviceUnavailable(_ reason: String, _ message: String) -> APIError {
        APIError(status: 503, reason: reason, message: message)
    }

    public static let internalError = APIError(status: 500, reason: "INTERNAL_ERROR", message: "Internal server error")
}

extension APIError {
    /// This refusal with where its decision record is: every entry names the record and the request.
    public func recorded(decisionID: String, requestID: String) -> APIError {
        var error = self
        for index in error.entries.indices {
            error.entries[index].decisionId = decisionID
            error.entries[index].requestId = requestID
        }
        return error
    }
}
