public import PortcullisCore

/// Decides whether a principal may do something: used for every route and by modules for resource checks.
public struct Authorizer: Sendable {
    public let catalog: PermissionCatalog
    /// The revision of the policy set the catalog comes from, stamped on every decision.
    public let revision: String?

    public init(catalog: PermissionCatalog, revision: String? = nil) {
        self.catalog = catalog
        self.revision = revision
    }

    /// Whether `principal` effectively holds `permission`: granted by its account and roles (`all` and
    /// `tenant.all` included) and, when the token is narrowed, by its scope too.
    public func holds(_ principal: Principal, _ permission: String) -> Bool {
        guard self.catalog.grants(held: principal.granted, permission) else { return false }
        guard let scope = principal.scope else { return true }
        return self.catalog.grants(held: scope, permission)
    }

    /// Tenant isolation, checked before ownership wherever a resource belongs to a tenant (flows, their
    /// queues, webhooks, schedules): a resource of a tenant is reached only by that tenant's members and by
    /// holders of `platform`, even by an owner that has since moved to another tenant. A resource of no
    /// tenant is reached by anyone its other checks admit.
    public func admits(_ principal: Principal, toTenant tenant: String?, platform: String = "all") -> Bool {
        guard let tenant else { return true }
        return tenant == principal.tenant || self.holds(principal, platform)
    }

    /// The route-level decision: what `rule` demands of `principal`. No rule is a deny (`NO_ROUTE`).
    public func decide(_ principal: Principal?, rule: RouteRule?) -> Decision {
        self.judge(principal, rule: rule).decision
    }

    /// The route-level decision and, for a deny, why, as a value the gateway answers without reading the
    /// reason text.
    public func judge(_ principal: Principal?, rule: RouteRule?) -> RouteVerdict {
        guard let rule else {
            return RouteVerdict(decision: Decision(outcome: .deny, reason: "NO_ROUTE", policyRevision: self.revision), denial: .noRoute)
        }
        let verdict = self.judge(principal, rule.access)
        let decision = verdict.decision
        return RouteVerdict(
            decision: Decision(
                outcome: decision.outcome, reason: decision.reason, required: decision.required, rule: rule.id, policyRevision: self.revision),
            denial: verdict.denial)
    }

    /// What `access` demands of `principal`, without a rule.
    public func decide(_ principal: Principal?, _ access: RouteAccess) -> Decision {
        self.judge(principal, access).decision
    }

    func judge(_ principal: Principal?, _ access: RouteAccess) -> RouteVerdict {
        switch access {
        case .public:
            return RouteVerdict(decision: Decision(outcome: .allow, reason: "PUBLIC", policyRevision: self.revision), denial: nil)
        case .authenticated:
            guard principal != nil else {
                return RouteVerdict(
                    decision: Decision(outcome: .deny, reason: "UNAUTHENTICATED", policyRevision: self.revision), denial: .unauthenticated)
            }
            return RouteVerdict(decision: Decision(outcome: .allow, reason: "ALLOWED", policyRevision: self.revision), denial: nil)
        case .allOf(let permissions), .anyOf(let permissions):
            guard let principal else {
                return RouteVerdict(
                    decision: Decision(outcome: .deny, reason: "UNAUTHENTICATED", required: permissions, policyRevision: self.revision),
                    denial: .unauthenticated)
            }
            let held = permissions.map { self.holds(principal, $0) }
            let satisfied: Bool
            if case .allOf = access {
                satisfied = held.allSatisfy { $0 }
            } else {
                satisfied = held.contains(true)
            }
            guard satisfied else {
                let missing = zip(permissions, held).filter { !$0.1 }.map(\.0)
                return RouteVerdict(
                    decision: Decision(outcome: .deny, reason: "MISSING_PERMISSION", required: permissions, policyRevision: self.revision),
                    denial: .missingPermission(missing))
            }
            return RouteVerdict(
                decision: Decision(outcome: .allow, reason: "ALLOWED", required: permissions, policyRevision: self.revision), denial: nil)
        }
    }
}
