import Foundation
public import GatewayKit
public import Logging
import Policy
public import PortcullisCore
public import Storage

/// Creating, changing and deleting flows: validation (``FlowValidator``), ownership and tenancy
/// (``FlowOwnership``, recorded through ``FlowAccess``), and one transaction per flow that writes it
/// with its events.
public struct FlowCommands: Sendable {
    /// Most items in one bulk request.
    public static let maximumBatch = 100

    let database: any Database
    let store: FlowStore
    let access: FlowAccess
    let announcer: FlowAnnouncer
    let sealer: WebhookSecretSealer
    let directory: @Sendable () throws -> any AccountDirectory
    let clock: WallClock
    let logger: Logger

    public init(
        database: any Database, store: FlowStore, access: FlowAccess, announcer: FlowAnnouncer, sealer: WebhookSecretSealer,
        directory: @escaping @Sendable () throws -> any AccountDirectory, clock: WallClock, logger: Logger
    ) {
        self.logger = logger
        self.database = database
        self.store = store
        self.access = access
        self.announcer = announcer
        self.sealer = sealer
        self.directory = directory
        self.clock = clock
    }

    /// One item of a bulk answer: the flow, or the problems of the item.
    public enum Outcome: Sendable {
        case flow(Flow)
        case refused(APIError)
    }

    public func create(_ body: JSONValue, by caller: FlowCaller) async throws -> Flow {
        let draft = try Self.validated(body)
        let (owners, tenant) = try await self.ownership(of: draft, current: nil, by: caller)
        let now = self.clock.now
        let id = FlowID.make()
        var flow = Flow(id: id, draft: draft, owners: owners, createdAt: now, updatedAt: now)
        flow.draft.tenant = tenant
        flow.draft.owners = owners
        if let secret = draft.webhooks?.hmacSecret { flow.sealedHMACSecret = try self.sealer.seal(secret, flowID: id) }
        flow.draft.webhooks?.hmacSecret = nil
        let stored = flow
        try await self.database.transaction { connection in
            try await self.store.insert(stored, on: connection)
            try await self.announcer.changed("created", stored, actor: caller.actor, requestID: caller.requestID, on: connection)
        }
        return stored
    }

    /// A bulk create: each item validated and stored on its own, so one bad item is reported without
    /// keeping the good ones from being stored (and never half of one).
    public func create(many items: [JSONValue], by caller: FlowCaller) async throws -> [Outcome] {
        try await self.access.require("flows.bulk", of: caller)
        try Self.checkBatch(items.count)
        var outcomes: [Outcome] = []
        for item in items {
            outcomes.append(await self.outcome { try await self.create(item, by: caller) })
        }
        return outcomes
    }

    /// OIH's PATCH: the body's fields replace the stored ones (an `id` in the body is ignored), and the
    /// result is validated as a whole, exactly as a create. Only a flow at rest (`inactive`) changes.
    public func update(_ id: String, with body: JSONValue, by caller: FlowCaller) async throws -> Flow {
        guard case .object(var changes) = body else { throw APIError.validation([(FlowProblem.notAnObject.reason, FlowProblem.notAnObject.message)]) }
        let flow = try await self.access.visible(id, to: caller)
        guard FlowLifecycle.allowsChanges(flow.status) else { throw self.busyOnCopy(flow) }
        changes["id"] = nil
        guard case .object(var merged) = try Self.writable(flow) else { throw APIError.badRequest("INVALID_BODY", "The flow could not be read.") }
        for (key, value) in changes { merged[key] = value }
        let draft = try Self.validated(.object(merged))
        let (owners, tenant) = try await self.ownership(of: draft, current: flow, by: caller)
        var updated = flow
        updated.draft = draft
        updated.draft.owners = owners
        updated.draft.tenant = tenant
        updated.owners = owners
        updated.draft.webhooks?.hmacSecret = nil
        switch Self.hmacSecretChange(in: changes) {
        case .keep: break
        case .clear: updated.sealedHMACSecret = nil
        case .set(let secret): updated.sealedHMACSecret = try self.sealer.seal(secret, flowID: flow.id)
        }
        updated.updatedAt = max(self.clock.now, flow.updatedAt.addingTimeInterval(0.001))
        let written = updated
        // Who may see the flow is decided again first (`change`), so a caller who lost it learns nothing of
        // its status; then over the version that was checked: a start or another change in between wins.
        try await self.access.change(flow.id, by: caller) { connection, current in
            guard FlowLifecycle.allowsChanges(current.status) else { throw Self.busy(current) }
            guard current.updatedAt == flow.updatedAt else { throw Self.concurrentChange }
            try await self.store.update(written, on: connection)
            try await self.announcer.changed("modified", written, actor: caller.actor, requestID: caller.requestID, on: connection)
        }
        return written
    }

    /// OIH's `PATCH /flows/bulk`: each item carries its `id` and is checked and answered on its own.
    public func update(many items: [JSONValue], by caller: FlowCaller) async throws -> [Outcome] {
        try await self.access.require("flows.bulk", of: caller)
        try Self.checkBatch(items.count)
        var outcomes: [Outcome] = []
        for item in items {
            guard case .object(let fields) = item, case .string(let id)? = fields["id"] else {
                outcomes.append(.refused(.badRequest("MISSING_FIELD", "Each item needs the id of the flow it changes.")))
                continue
            }
            outcomes.append(await self.outcome { try await self.update(id, with: item, by: caller) })
        }
        return outcomes
    }

    public func delete(_ id: String, by caller: FlowCaller) async throws {
        let flow = try await self.access.visible(id, to: caller)
        guard FlowLifecycle.allowsChanges(flow.status) else { throw self.busyOnCopy(flow) }
        try await self.access.change(flow.id, by: caller) { connection, current in
            guard FlowLifecycle.allowsChanges(current.status) else { throw Self.busy(current) }
            try await self.store.delete(id: flow.id, on: connection)
            try await self.announcer.changed("deleted", current, actor: caller.actor, requestID: caller.requestID, on: connection)
        }
    }

    /// 1 to ``maximumBatch`` items, else 400.
    static func checkBatch(_ count: Int) throws {
        guard (1...Self.maximumBatch).contains(count) else {
            throw APIError.badRequest("INVALID_BODY", "A bulk request carries 1 to \(Self.maximumBatch) items.")
        }
    }

    /// One item's outcome: every answer it would get on its own becomes its entry, so that the answer
    /// tells exactly which items were written even when one meets a fault (a 503) half-way.
    func outcome(_ body: () async throws -> Flow) async -> Outcome {
        do {
            return .flow(try await body())
        } catch {
            return .refused(ErrorResponse.apiError(for: error, logger: self.logger))
        }
    }

    static func validated(_ body: JSONValue) throws -> FlowDraft {
        switch FlowValidator.validate(body) {
        case .success(let draft): return draft
        case .failure(let failure): throw APIError(status: 400, entries: failure.problems.map(\.entry))
        }
    }

    /// ``busy(_:)`` for a flow checked on its cached copy, which goes: the copy may be what is out of date
    /// (a stop on another replica whose notice has not arrived), and the next try reads the row.
    func busyOnCopy(_ checked: Flow) -> APIError {
        self.store.cache.invalidate(checked.id)
        return Self.busy(checked)
    }

    static func busy(_ flow: Flow) -> APIError {
        .conflict("FLOW_NOT_INACTIVE", "Flow is \(flow.status.rawValue); stop it before changing or deleting it.")
    }

    static let concurrentChange = APIError.conflict("CONCURRENT_CHANGE", "The flow changed while this request was being checked; try again.")

    /// The fields of `flow` a client writes, as JSON: what a PATCH body is merged onto.
    static func writable(_ flow: Flow) throws -> JSONValue {
        guard case .object(var fields) = try JSONValue(encoding: flow) else { return .object([:]) }
        for key in ["id", "status", "statusReason", "startedBy", "createdAt", "updatedAt"] { fields[key] = nil }
        return .object(fields)
    }

    enum SecretChange { case keep, clear, set(String) }

    /// The write-only secret of a PATCH: kept unless the body names `flowSettings.webhooks.hmacSecret`.
    /// (`flowSettings: null` or `webhooks: null` removes the webhook settings, the secret with them).
    static func hmacSecretChange(in changes: [String: JSONValue]) -> SecretChange {
        guard let settings = changes["flowSettings"] else { return .keep }
        guard case .object(let fields) = settings else { return .clear }
        guard let webhooks = fields["webhooks"] else { return .keep }
        guard case .object(let webhook) = webhooks else { return .clear }
        guard let secret = webhook["hmacSecret"] else { return .keep }
        if case .string(let value) = secret { return .set(value) }
        return .clear
    }

    /// The owners and the tenant of a flow written by `caller`. On a create (`existing` nil) the creator
    /// and its tenant become owners. A named owner or tenant outside the caller's tenant is refused (400,
    /// recorded), except for platform admins and for owners the flow has already; a change must leave the
    /// flow visible to its author.
    func ownership(of draft: FlowDraft, current: Flow?, by caller: FlowCaller) async throws -> ([FlowOwner], String?) {
        let principal = caller.principal
        let admin = self.access.isPlatformAdmin(principal)
        let existing = current?.owners
        if !admin {
            // On a create, a flow's tenant is the caller's; after that only a platform admin moves it.
            let allowed = current.map { draft.tenant == $0.draft.tenant } ?? (draft.tenant == nil || draft.tenant == principal.tenant)
            if !allowed {
                try await self.access.refuse("tenant", id: draft.tenant ?? "none", to: caller, reason: "FOREIGN_TENANT")
                throw APIError.badRequest(
                    "FOREIGN_TENANT", current == nil ? "tenant must be your own tenant." : "Only a platform admin moves a flow to another tenant.")
            }
        }
        let directory = try self.directory()
        let requested = draft.owners ?? []
        let added = requested.filter { !(existing ?? []).contains($0) }
        var owners: [FlowOwner]
        do {
            owners = try await FlowOwnership.owners(
                requested: added, by: principal, isPlatformAdmin: admin,
                sameTenant: { id in
                    // A user of the caller's tenant: not a service account (another flow's token, say).
                    guard let account = try await directory.account(id), account.type == FlowOwnership.userType else { return false }
                    return account.tenant == principal.tenant
                })
        } catch let foreign as FlowOwnership.ForeignOwner {
            try await self.access.refuse("flow-owner", id: foreign.owner.id, to: caller, reason: "FOREIGN_OWNER")
            throw APIError.badRequest("FOREIGN_OWNER", foreign.message)
        }
        if let current {
            // A change names the whole list: the author is not added, the list must still include it.
            owners = []
            for owner in requested where !owners.contains(owner) { owners.append(owner) }
            try await self.checkOwnerChange(from: current, to: owners, by: caller, admin: admin)
            let visible = FlowOwnership.visibleOwnerIDs(of: principal, isPlatformAdmin: admin)
            if let visible, !owners.contains(where: { visible.contains($0.id) }) {
                try await self.access.refuse("flow-owner", id: principal.accountID, to: caller, reason: "OWNERS_EXCLUDE_CALLER")
                throw APIError.badRequest("OWNERS_EXCLUDE_CALLER", "owners must include you or your tenant.")
            }
        }
        // A new flow belongs to its creator's tenant unless a platform admin says otherwise; a change keeps
        // the tenant the flow has (a flow of no tenant stays of none: it is not the first editor's to take).
        return (owners, current == nil ? (draft.tenant ?? principal.tenant) : draft.tenant)
    }

    /// What a change of owners may not do, short of a platform admin: hand a flow of another tenant
    /// around (an account moved to another tenant keeps no say over its old tenant's flows), or drop the
    /// flow's own tenant from its owners (which would hide it from the tenant's members and admins).
    func checkOwnerChange(from current: Flow, to owners: [FlowOwner], by caller: FlowCaller, admin: Bool) async throws {
        guard !admin, Set(owners) != Set(current.owners) else { return }
        guard let tenant = current.draft.tenant else {
            try await self.checkRemovals(from: current, to: owners, by: caller)
            return
        }
        guard tenant == caller.principal.tenant else {
            try await self.access.refuse("flow-owner", id: current.id, to: caller, reason: "FOREIGN_TENANT")
            throw APIError.badRequest("FOREIGN_TENANT", "Only members of the flow's tenant change its owners.")
        }
        let tenantOwner = FlowOwner(id: tenant, type: FlowOwnership.tenantType)
        if current.owners.contains(tenantOwner) && !owners.contains(tenantOwner) {
            try await self.access.refuse("flow-owner", id: tenant, to: caller, reason: "TENANT_OWNER_REQUIRED")
            throw APIError.badRequest("TENANT_OWNER_REQUIRED", "owners must keep the flow's tenant.")
        }
    }

    /// A flow of no tenant (a platform admin's, shared by several tenants): a non-admin owner adds owners
    /// of its own tenant like anywhere, but removes only itself, its tenant and users of its tenant, never
    /// what another tenant or the admin put there (that would take the flow from them).
    func checkRemovals(from current: Flow, to owners: [FlowOwner], by caller: FlowCaller) async throws {
        let principal = caller.principal
        let directory = try self.directory()
        for removed in current.owners where !owners.contains(removed) {
            let own: Bool
            switch removed.type {
            case FlowOwnership.tenantType: own = removed.id == principal.tenant && principal.tenant != nil
            default:
                if removed.id == principal.accountID {
                    own = true
                } else if try await directory.account(removed.id) == nil {
                    // A deleted account gives nobody anything: anyone may tidy it away.
                    own = true
                } else if let account = try await directory.account(removed.id), account.type == FlowOwnership.userType, let tenant = principal.tenant
                {
                    own = account.tenant == tenant
                } else {
                    own = false
                }
            }
            guard own else {
                try await self.access.refuse("flow-owner", id: removed.id, to: caller, reason: "FOREIGN_OWNER")
                throw APIError.badRequest("FOREIGN_OWNER", "Only a platform admin removes owners outside your tenant from a flow of no tenant.")
            }
        }
    }
}
