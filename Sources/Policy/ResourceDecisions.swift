public import PortcullisCore

/// An action on one resource, as a module checks it: granted platform-wide by `platform`, within the
/// caller's own tenant by `tenant`, and to the resource's owner when `ownerMay` is set.
public struct ResourceAction: Sendable, Hashable {
    public let platform: String
    public let tenant: String?
    public let ownerMay: Bool

    public init(platform: String, tenant: String? = nil, ownerMay: Bool = false) {
        self.platform = platform
        self.tenant = tenant
        self.ownerMay = ownerMay
    }

    var required: [String] { [self.platform] + (self.tenant.map { [$0] } ?? []) }
}

/// The resource a module-level check is about.
public struct ResourceRef: Sendable, Hashable {
    public let type: String
    public let id: String
    /// The tenant the resource belongs to; nil for platform resources.
    public let tenant: String?
    /// The account that owns the resource, when ownership grants access.
    public let owner: String?

    public init(type: String, id: String, tenant: String?, owner: String? = nil) {
        self.type = type
        self.id = id
        self.tenant = tenant
        self.owner = owner
    }
}

/// Records resource-level decisions for the request being served: the gateway makes one per request and
/// hands it to the module operations that check resources, next to the caller.
///
/// A recorder may hold the request's route decision back until the first of: a resource decision (both are
/// then committed together), ``settle()``, or the answer. Whatever acts (writes, enqueues, publishes) must
/// therefore follow a recorded resource decision or a `settle()`: the gateway settles before every handler
/// that is not a read (``RouteRegistry``).
public protocol ResourceDecisionRecorder: Sendable {
    /// Durably records `decision` about `resource`, made for `principal` (nil: the request's own caller),
    /// together with any decision held back; throws when it cannot, and the check then fails closed.
    func record(_ decision: Decision, about principal: Principal?, resource: ResourceRef) async throws

    /// Makes every decision held back durable; throws when it cannot (the caller must not act).
    func settle() async throws
}

/// The recorder for work that has none: every check through it fails, so a resource check can never
/// pass unrecorded by mistake.
public struct NoDecisionRecorder: ResourceDecisionRecorder {
    public struct Missing: Error, CustomStringConvertible {
        public var description: String { "a resource check ran without a decision recorder" }
    }

    public init() {}

    public func record(_ decision: Decision, about principal: Principal?, resource: ResourceRef) async throws {
        throw Missing()
    }

    /// Nothing is held back: nothing to settle.
    public func settle() async throws {}
}

extension Authorizer {
    /// The decision on `action` over `resource`: the platform permission allows any resource; the tenant
    /// permission only resources of the caller's own tenant; the owner, when the action allows it.
    public func decide(_ principal: Principal, _ action: ResourceAction, on resource: ResourceRef) -> Decision {
        func decision(_ outcome: Decision.Outcome, _ reason: String) -> Decision {
            Decision(outcome: outcome, reason: reason, required: action.required, policyRevision: self.revision)
        }
        if self.holds(principal, action.platform) {
            return decision(.allow, "ALLOWED")
        }
        if action.ownerMay, let owner = resource.owner, owner == principal.accountID {
            return decision(.allow, "OWNER")
        }
        if let tenantPermission = action.tenant, self.holds(principal, tenantPermission) {
            if let own = principal.tenant, resource.tenant == own {
                return decision(.allow, "TENANT")
            }
            return decision(.deny, "NOT_VISIBLE")
        }
        return decision(.deny, "MISSING_PERMISSION")
    }

    /// The decision on a resource that has several owners, users and tenants alike (a flow): the platform
    /// permission allows any; an owner list naming the caller's account allows as `OWNER`, one naming its
    /// tenant as `TENANT`; anything else is `NOT_VISIBLE` (answered as if it did not exist).
    public func decide(_ principal: Principal, platform: String, ownedBy owners: Set<String>) -> Decision {
        func decision(_ outcome: Decision.Outcome, _ reason: String) -> Decision {
            Decision(outcome: outcome, reason: reason, required: [platform], policyRevision: self.revision)
        }
        if self.holds(principal, platform) { return decision(.allow, "ALLOWED") }
        if owners.contains(principal.accountID) { return decision(.allow, "OWNER") }
        if let tenant = principal.tenant, owners.contains(tenant) { return decision(.allow, "TENANT") }
        return decision(.deny, "NOT_VISIBLE")
    }

    /// Decides `action` over `resource` and records the decision with `recorder` (the request's).
    ///
    /// - Returns: whether the action is allowed.
    /// - Throws: when the decision cannot be recorded (the caller must not act: fail closed).
    public func check(
        _ principal: Principal, _ action: ResourceAction, on resource: ResourceRef, recordingTo recorder: any ResourceDecisionRecorder
    ) async throws -> Bool {
        try await self.check(self.decide(principal, action, on: resource), about: principal, on: resource, recordingTo: recorder)
    }

    /// Records a decision made elsewhere (a grant, a ceiling, a credential check) for `principal` (the
    /// party the decision is about: an OAuth client or an exchange's actor may not be the request's bearer)
    /// about `resource`.
    ///
    /// - Returns: whether the decision allows.
    /// - Throws: when the decision cannot be recorded (the caller must not act: fail closed).
    @discardableResult
    public func check(
        _ decision: Decision, about principal: Principal?, on resource: ResourceRef, recordingTo recorder: any ResourceDecisionRecorder
    ) async throws -> Bool {
        try await recorder.record(decision, about: principal, resource: resource)
        return decision.allowed
    }
}
