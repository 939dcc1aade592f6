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
    /// The id of the route rule that refused the request (a refusal by policy).
    public var rule: String?
    /// What that rule asks for.
    public var required: PermissionRequirement?
    /// What of it the caller's token lacks.
    public var missing: [String]?
    /// The id of the decision record of the refusal, and the request's id: `GET /logs?filter[requestId]=`.
    public var decisionId: String?
    public var requestId: String?

    public init(
        code: Int, message: String, reason: String, detail: String? = nil, rule: String? = nil, required: PermissionRequirement? = nil,
        missing: [String]? = nil, decisionId: String? = nil, requestId: String? = nil
    ) {
        self.code = code
        self.message = message
        self.reason = reason
        self.detail = detail
        self.rule = rule
        self.required = required
        self.missing = missing
        self.decisionId = decisionId
        self.requestId = requestId
    }
}

/// The error body every non-OAuth endpoint answers with: `{"errors":[...]}`.
public struct ErrorEnvelope: Codable, Sendable, Equatable {
    public var errors: [ErrorEntry]

    public init(errors: [ErrorEntry]) {
        self.errors = errors
    }
}
