public import PortcullisCore

/// The outcome of one authorization decision, with what a record of it needs.
public struct Decision: Sendable, Hashable {
    public enum Outcome: String, Sendable, Hashable {
        case allow, deny
    }

    public let outcome: Outcome
    /// `ALLOWED`, `PUBLIC`, `OWNER`, `TENANT`, `UNAUTHENTICATED`, `MISSING_PERMISSION`, `NOT_VISIBLE`, `NO_ROUTE`, ...
    public let reason: String
    /// The permissions the rule or check asked for.
    public let required: [String]
    /// The id of the route rule that decided; nil for resource checks and requests no rule matches.
    public let rule: String?
    /// The revision of the policy files the decision was made with.
    public let policyRevision: String?

    public init(outcome: Outcome, reason: String, required: [String] = [], rule: String? = nil, policyRevision: String? = nil) {
        self.outcome = outcome
        self.reason = reason
        self.required = required
        self.rule = rule
        self.policyRevision = policyRevision
    }

    public var allowed: Bool { self.outcome == .allow }
}
