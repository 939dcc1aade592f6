import Foundation
public import Policy
public import PortcullisCore

/// Who sees which flow, decided by the ``Authorizer`` and recorded as a resource decision (API.md §3):
/// platform admins (`all`) see every flow, others the flows whose owners name their account or their
/// tenant. An invisible flow answers exactly as a missing one: 404 `No flow found`.
public struct FlowAccess: Sendable {
    public static let platformPermission = "all"
    public static let notFound = APIError.notFound("No flow found")

    let policies: PolicyStore

    public init(policies: PolicyStore) {
        self.policies = policies
    }

    var authorizer: Authorizer { self.policies.current.authorizer }

    func isPlatformAdmin(_ principal: Principal) -> Bool {
        self.authorizer.holds(principal, Self.platformPermission)
    }

    /// `flow` when the caller may see it (the decision recorded); 404 for a missing or invisible flow.
    func visible(_ flow: Flow?, to caller: FlowCaller) async throws -> Flow {
        guard let flow else { throw Self.notFound }
        let authorizer = self.authorizer
        let decision = authorizer.decide(caller.principal, platform: Self.platformPermission, ownedBy: Set(flow.owners.map(\.id)))
        guard try await authorizer.check(decision, about: nil, on: Self.resource(flow), recordingTo: caller.decisions) else {
            throw Self.notFound
        }
        return flow
    }

    /// The owner ids whose flows a listing may show (nil: all), the decision recorded as one about the
    /// collection.
    func listing(for caller: FlowCaller) async throws -> [String]? {
        let admin = self.isPlatformAdmin(caller.principal)
        let decision = Decision(
            outcome: .allow, reason: admin ? "ALLOWED" : "OWNED_ONLY", required: [Self.platformPermission], policyRevision: self.authorizer.revision)
        try await self.authorizer.check(
            decision, about: nil, on: ResourceRef(type: "flows", id: "*", tenant: caller.principal.tenant), recordingTo: caller.decisions)
        return FlowOwnership.visibleOwnerIDs(of: caller.principal, isPlatformAdmin: admin)
    }

    /// Records the refusal of an owner or tenant outside the caller's tenant; the caller then answers 400.
    func refuse(_ what: String, id: String, to caller: FlowCaller, reason: String) async throws {
        let decision = Decision(outcome: .deny, reason: reason, required: [Self.platformPermission], policyRevision: self.authorizer.revision)
        try await self.authorizer.check(
            decision, about: nil, on: ResourceRef(type: what, id: id, tenant: caller.principal.tenant), recordingTo: caller.decisions)
    }

    /// A permission the module checks beyond the route's (`flows.bulk`), recorded.
    func require(_ permission: String, of caller: FlowCaller) async throws {
        let allowed = try await self.authorizer.check(
            caller.principal, ResourceAction(platform: permission), on: ResourceRef(type: "flows", id: "*", tenant: caller.principal.tenant),
            recordingTo: caller.decisions)
        guard allowed else { throw APIError.forbidden("MISSING_PERMISSION", "Missing permission \(permission)") }
    }

    static func resource(_ flow: Flow) -> ResourceRef {
        ResourceRef(type: "flow", id: flow.id, tenant: flow.draft.tenant)
    }
}
