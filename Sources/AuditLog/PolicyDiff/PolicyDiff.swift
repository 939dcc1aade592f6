public import Policy
public import PortcullisCore

/// One route-stage decision as its record keeps it, with what deciding it again needs.
public struct RecordedRouteDecision: Sendable {
    public let requestID: String?
    public let method: String
    public let path: String
    public let outcome: Decision.Outcome
    public let reason: String
    public let rule: String?
    /// The caller as recorded: nil for an anonymous request.
    public let actor: AuditActor?
    /// The permissions the caller held, from the record's digest; nil when the record names none (made
    /// before digests were recorded) or the stored set does not match its digest.
    public let permissions: PermissionSet?

    public init(
        requestID: String?, method: String, path: String, outcome: Decision.Outcome, reason: String, rule: String?, actor: AuditActor?,
        permissions: PermissionSet?
    ) {
        self.requestID = requestID
        self.method = method
        self.path = path
        self.outcome = outcome
        self.reason = reason
        self.rule = rule
        self.actor = actor
        self.permissions = permissions
    }
}

/// Which recorded requests a candidate set of policy files would decide differently: each recorded
/// route-stage decision is decided again, with the caller's recorded permissions, under the candidate's
/// rules and catalog, and every change is counted in a group of its kind and rules.
public struct PolicyDiff: Sendable {
    public enum Change: String, Sendable, Codable, CaseIterable {
        case allowToDeny = "allow-to-deny"
        case denyToAllow = "deny-to-allow"
        case otherRule = "other-rule"
    }

    /// The requests of one kind of change between one recorded rule and one candidate rule.
    public struct Group: Sendable, Codable, Equatable {
        public let change: Change
        /// The rule that decided, as recorded and under the candidate; nil: no rule matched.
        public let fromRule: String?
        public let toRule: String?
        /// The candidate's reason (`MISSING_PERMISSION`, `NO_ROUTE`, `ALLOWED`, ...).
        public let reason: String
        public var count: Int
        /// A few of the requests, to look up with `GET /logs?filter[requestId]=`.
        public var requestIds: [String]
    }

    public struct Report: Sendable, Codable, Equatable {
        /// The candidate's policy revision.
        public let candidateRevision: String
        /// Route-stage records decided again.
        public var compared = 0
        public var unchanged = 0
        /// Refused before any rule (a hostile path, a bad token): no policy change alters them.
        public var decidedBeforeRules = 0
        /// Records of a caller whose permissions were not recorded (older records), or whose path was too
        /// long to be recorded whole: not decided again.
        public var withoutPermissions = 0
        public var groups: [Group] = []

        /// Whether any recorded allow would become a deny: what a CI gate refuses.
        public var breaksRequests: Bool { self.groups.contains { $0.change == .allowToDeny } }
    }

    /// Reasons decided before any rule is looked at. (`NOT_BEARER`, credentials of another scheme, depends on
    /// the rule: such a request passes as anonymous where a rule is public, and is replayed as anonymous.)
    static let beforeRules: Set<String> = ["INVALID_PATH", "INVALID_TOKEN", "ACCOUNT_DISABLED", "AUTHENTICATION_UNAVAILABLE"]
    /// The longest path a record keeps whole; a longer one was cut and cannot be matched faithfully.
    public static let recordedPathLimit = 512
    static let examplesPerGroup = 5

    let candidate: PolicySet
    public private(set) var report: Report
    private var groupIndex: [String: Int] = [:]

    public init(candidate: PolicySet) {
        self.candidate = candidate
        self.report = Report(candidateRevision: candidate.revision)
    }

    /// Decides `record` again under the candidate and counts the outcome.
    public mutating func add(_ record: RecordedRouteDecision) {
        if Self.beforeRules.contains(record.reason) {
            self.report.decidedBeforeRules += 1
            return
        }
        guard record.path.utf8.count < Self.recordedPathLimit else {
            self.report.withoutPermissions += 1
            return
        }
        let principal: Principal?
        if record.reason != "NOT_BEARER", let actor = record.actor, let sub = actor.sub {
            guard let permissions = record.permissions else {
                self.report.withoutPermissions += 1
                return
            }
            principal = Principal(
                accountID: sub, username: "", tenant: actor.tenant, type: actor.type == "service" ? .service : .user, roles: [],
                granted: Set(permissions.granted), scope: permissions.scope.map(Set.init), tokenID: actor.tokenID ?? "",
                tokenType: "access_token", expiresAt: nil, actor: nil)
        } else {
            principal = nil
        }
        self.report.compared += 1
        let decision = self.candidate.decide(principal, method: record.method, path: record.path)
        let change: Change
        switch (record.outcome, decision.outcome) {
        case (.allow, .deny): change = .allowToDeny
        case (.deny, .allow): change = .denyToAllow
        default:
            guard decision.rule != record.rule else {
                self.report.unchanged += 1
                return
            }
            change = .otherRule
        }
        let key = "\(change.rawValue)|\(record.rule ?? "")|\(decision.rule ?? "")|\(decision.reason)"
        if let index = self.groupIndex[key] {
            self.report.groups[index].count += 1
            if let id = record.requestID, self.report.groups[index].requestIds.count < Self.examplesPerGroup {
                self.report.groups[index].requestIds.append(id)
            }
        } else {
            self.groupIndex[key] = self.report.groups.count
            self.report.groups.append(
                Group(
                    change: change, fromRule: record.rule, toRule: decision.rule, reason: decision.reason, count: 1,
                    requestIds: record.requestID.map { [$0] } ?? []))
        }
    }

    /// The report, groups ordered: breaking changes first, then by count.
    public var finished: Report {
        var report = self.report
        let order = Dictionary(uniqueKeysWithValues: Change.allCases.enumerated().map { ($1, $0) })
        report.groups.sort { a, b in
            if a.change != b.change { return order[a.change]! < order[b.change]! }
            if a.count != b.count { return a.count > b.count }
            return (a.fromRule ?? "", a.toRule ?? "", a.reason) < (b.fromRule ?? "", b.toRule ?? "", b.reason)
        }
        return report
    }
}
