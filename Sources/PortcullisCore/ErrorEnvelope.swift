/// One problem in an error response: `{"code":403,"message":"...","reason":"MISSING_PERMISSION"}`.
public struct ErrorEntry: Codable, Sendable, Equatable {
    /// The HTTP status code of the response this entry belongs to.
    public var code: Int
    /// A sentence for people. Never contains SQL, file paths, tokens or secrets.
    public var message: String
    /// A stable UPPER_SNAKE code that clients can switch on.
    public var reason: String
    /// What exactly was wrong, when the message is a fixed sentence that OIH clients match on (for a cron
    /// expression: which field, and why). Absent from the JSON when nil.
    public var detail: String?

    public init(code: Int, message: String, reason: String, detail: String? = nil) {
        self.code = code
        self.message = message
        self.reason = reason
        self.detail = detail
    }
}

/// The error body every non-OAuth endpoint answers with: `{"errors":[...]}`.
public struct ErrorEnvelope: Codable, Sendable, Equatable {
    public var errors: [ErrorEntry]

    public init(errors: [ErrorEntry]) {
        self.errors = errors
    }
}
