import Foundation
public import Policy
public import PortcullisCore
import Storage

/// Who sees which flow, decided by the ``Authorizer`` and recorded as a resource decision (API.md §3):
/// platform admins (`all`) see every flow, others the flows whose owners name their account or their
/// tenant. An invisible flow answers exactly as a missing one: 404 `No flow found`.
public struct FlowAccess: Sendable {
    public static let platformPermission = "all"
    public static let notFound = APIError.notFound("No flow found")

    let policies: PolicyStore
    let store: FlowStore

    public init(policies: PolicyStore, store: FlowStore) {
        self.policies = policies
        self.store = store
    }

    var authorizer: Authorizer { self.policies.current.authorizer }

    func isPlatformAdmin(_ principal: Principal) -> Bool {
        self.authorizer.holds(principal, Self.platformPermission)
    }

    /// The flow `id` when the caller may see it (the decision recorded); 404 for a missing, invisible or
    /// malformed id (which never reaches the database).
    ///
    /// A missing flow and an invisible one leave the same record (`NOT_VISIBLE`, the id, no tenant), so the
    /// caller's own audit trail does not tell them apart either.
    func visible(_ id: String, to caller: FlowCaller) async throws -> Flow {
        try await self.visibleRead(id, to: caller).flow
    }

    /// ``visible(_:to:)``, with the memo of the flow's encoded answers when it is cached.
    func visibleRead(_ id: String, to caller: FlowCaller) async throws -> CachedFlow {
        let authorizer = self.authorizer
        if FlowID.isWellFormed(id), let read = try await self.store.read(id: id), Self.sameTenant(read.flow, caller.principal, authorizer) {
            let flow = read.flow
            let decision = authorizer.decide(caller.principal, platform: Self.platformPermission, ownedBy: Set(flow.owners.map(\.id)))
            if decision.allowed {
                try await authorizer.check(decision, about: nil, on: Self.resource(flow), recordingTo: caller.decisions)
                return read
            }
        }
        let hidden = Decision(outcome: .deny, reason: "NOT_VISIBLE", required: [Self.platformPermission], policyRevision: authorizer.revision)
        try await authorizer.check(
            hidden, about: nil, on: ResourceRef(type: "flow", id: id.utf8Prefix(64), tenant: nil), recordingTo: caller.decisions)
        throw Self.notFound
    }

    /// Whether the caller still sees `current`, the flow as a change's transaction read it again: the
    /// visibility decided on the copy it was checked on (the cache's, possibly from before an owner was
    /// removed on another replica) is decided again on the row.
    private func stillVisible(_ current: Flow, to caller: FlowCaller) -> Bool {
        let authorizer = self.authorizer
        return Self.sameTenant(current, caller.principal, authorizer)
            && authorizer.decide(caller.principal, platform: Self.platformPermission, ownedBy: Set(current.owners.map(\.id))).allowed
    }

    /// A change's transaction found that its caller no longer sees the flow (or that it is gone).
    struct NoLongerVisible: Error {
        let flowID: String
    }

    /// The flow `id` read again in a change's transaction, holding its row, when the caller still sees it.
    ///
    /// - Throws: ``NoLongerVisible`` when the flow is gone or the caller no longer sees it; run the change
    ///   inside ``refusingStale(_:_:)``, which answers that as a fresh read would.
    func reread(_ id: String, for caller: FlowCaller, on connection: any DatabaseConnection) async throws -> Flow {
        guard let current = try await self.store.find(id: id, on: connection, locking: true), self.stillVisible(current, to: caller) else {
            throw NoLongerVisible(flowID: id)
        }
        return current
    }

    /// One change of the flow `id` by `caller`: a transaction (``FlowStore/transaction(changing:_:)``) that
    /// reads the flow again (``reread(_:for:on:)``) and hands it to `body`, inside ``refusingStale(_:_:)``.
    func change<Result: Sendable>(
        _ id: String, by caller: FlowCaller, _ body: @Sendable (any DatabaseConnection, Flow) async throws -> Result
    ) async throws -> Result {
        try await self.refusingStale(caller) {
            try await self.store.transaction(changing: id) { connection in
                try await body(connection, try await self.reread(id, for: caller, on: connection))
            }
        }
    }

    /// Runs a change (its transaction inside `body`) and turns ``NoLongerVisible`` into what a fresh read
    /// would have given: the recorded `NOT_VISIBLE` deny and 404. Recorded after the transaction, not in it:
    /// a record waits for the decision journal, which on SQLite needs the connection the transaction holds.
    func refusingStale<Result: Sendable>(_ caller: FlowCaller, _ body: () async throws -> Result) async throws -> Result {
        do {
            return try await body()
        } catch let stale as NoLongerVisible {
            let authorizer = self.authorizer
            let hidden = Decision(outcome: .deny, reason: "NOT_VISIBLE", required: [Self.platformPermission], policyRevision: authorizer.revision)
            try await authorizer.check(
                hidden, about: nil, on: ResourceRef(type: "flow", id: stale.flowID, tenant: nil), recordingTo: caller.decisions)
            throw Self.notFound
        }
    }

    /// Tenant isolation before ownership: a flow of a tenant is seen only by that tenant's members (and
    /// platform admins), even by an owner that has since moved to another tenant.
    static func sameTenant(_ flow: Flow, _ principal: Principal, _ authorizer: Authorizer) -> Bool {
        authorizer.admits(principal, toTenant: flow.draft.tenant, platform: Self.platformPermission)
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

    /// The flows a listing may show: owned by the caller's account or tenant, and of no tenant or the
    /// caller's; nil restrictions for platform admins.
    func scope(_ query: inout FlowQuery, for caller: FlowCaller) async throws {
        query.visibleTo = try await self.listing(for: caller)
        if query.visibleTo != nil { query.tenantScope = .some(caller.principal.tenant) }
    }

    /// Records the refusal of an owner or tenant outside the caller's tenant (or an owner list that
    /// leaves the caller out); the caller then answers 400.
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
        guard allowed else {
            throw APIError.missingPermission(permission)
        }
    }

    static func resource(_ flow: Flow) -> ResourceRef {
        ResourceRef(type: "flow", id: flow.id, tenant: flow.draft.tenant)
    }
}
