import Foundation
public import GatewayKit
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

    public init(
        database: any Database, store: FlowStore, access: FlowAccess, announcer: FlowAnnouncer, sealer: WebhookSecretSealer,
        directory: @escaping @Sendable () throws -> any AccountDirectory, clock: WallClock
    ) {
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
        guard (1...Self.maximumBatch).contains(items.count) else {
            throw APIError.badRequest("INVALID_BODY", "A bulk request carries 1 to \(Self.maximumBatch) flows.")
        }
        try await self.access.require("flows.bulk", of: caller)
        var outcomes: [Outcome] = []
        for item in items {
            do {
                outcomes.append(.flow(try await self.create(item, by: caller)))
            } catch let error as APIError where error.status == 400 {
                outcomes.append(.refused(error))
            }
        }
        return outcomes
    }

    /// OIH's PATCH: the body's fields replace the stored ones (an `id` in the body is ignored), and the
    /// result is validated as a whole, exactly as a create. Only a flow at rest (`inactive`) changes.
    public func update(_ id: String, with body: JSONValue, by caller: FlowCaller) async throws -> Flow {
        guard case .object(var changes) = body else { throw APIError.validation([(FlowProblem.notAnObject.reason, FlowProblem.notAnObject.message)]) }
        let flow = try await self.access.visible(try await self.find(id), to: caller)
        guard FlowLifecycle.allowsChanges(flow.status) else { throw Self.busy(flow) }
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
        try await self.database.transaction { connection in
            // Over the version that was checked: a start or another change in between wins.
            guard let current = try await self.store.find(id: flow.id, on: connection, locking: true) else { throw FlowAccess.notFound }
            guard FlowLifecycle.allowsChanges(current.status) else { throw Self.busy(current) }
            guard current.updatedAt == flow.updatedAt else { throw Self.concurrentChange }
            try await self.store.update(written, on: connection)
            try await self.announcer.changed("modified", written, actor: caller.actor, requestID: caller.requestID, on: connection)
        }
        return written
    }

    /// OIH's `PATCH /flows/bulk`: each item carries its `id` and is checked and answered on its own.
    public func update(many items: [JSONValue], by caller: FlowCaller) async throws -> [Outcome] {
        guard (1...Self.maximumBatch).contains(items.count) else {
            throw APIError.badRequest("INVALID_BODY", "A bulk request carries 1 to \(Self.maximumBatch) flows.")
        }
        try await self.access.require("flows.bulk", of: caller)
        var outcomes: [Outcome] = []
        for item in items {
            guard case .object(let fields) = item, case .string(let id)? = fields["id"] else {
                outcomes.append(.refused(.badRequest("MISSING_FIELD", "Each item needs the id of the flow it changes.")))
                continue
            }
            do {
                outcomes.append(.flow(try await self.update(id, with: item, by: caller)))
            } catch let error as APIError where [400, 404, 409].contains(error.status) {
                outcomes.append(.refused(error))
            }
        }
        return outcomes
    }

    public func delete(_ id: String, by caller: FlowCaller) async throws {
        let flow = try await self.access.visible(try await self.find(id), to: caller)
        guard FlowLifecycle.allowsChanges(flow.status) else { throw Self.busy(flow) }
        try await self.database.transaction { connection in
            guard let current = try await self.store.find(id: flow.id, on: connection, locking: true) else { throw FlowAccess.notFound }
            guard FlowLifecycle.allowsChanges(current.status) else { throw Self.busy(current) }
            try await self.store.delete(id: flow.id, on: connection)
            try await self.announcer.changed("deleted", current, actor: caller.actor, requestID: caller.requestID, on: connection)
        }
    }

    /// The stored flow, or nil; a malformed id is an unknown one.
    func find(_ id: String) async throws -> Flow? {
        guard FlowID.isWellFormed(id) else { return nil }
        return try await self.store.find(id: id)
    }

    static func validated(_ body: JSONValue) throws -> FlowDraft {
        switch FlowValidator.validate(body) {
        case .success(let draft): return draft
        case .failure(let failure): throw APIError.validation(failure.problems.map { ($0.reason, $0.message) })
        }
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
    static func hmacSecretChange(in changes: [String: JSONValue]) -> SecretChange {
        guard case .object(let settings)? = changes["flowSettings"], case .object(let webhooks)? = settings["webhooks"],
            let secret = webhooks["hmacSecret"]
        else { return .keep }
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
        if let tenant = draft.tenant, tenant != principal.tenant, tenant != current?.draft.tenant, !admin {
            try await self.access.refuse("tenant", id: tenant, to: caller, reason: "FOREIGN_TENANT")
            throw APIError.badRequest("FOREIGN_TENANT", "tenant must be your own tenant.")
        }
        let directory = try self.directory()
        let requested = draft.owners ?? []
        let added = requested.filter { !(existing ?? []).contains($0) }
        var owners: [FlowOwner]
        do {
            owners = try await FlowOwnership.owners(
                requested: added, by: principal, isPlatformAdmin: admin,
                sameTenant: { id in try await directory.account(id)?.tenant == principal.tenant })
        } catch let foreign as FlowOwnership.ForeignOwner {
            try await self.access.refuse("flow-owner", id: foreign.owner.id, to: caller, reason: "FOREIGN_OWNER")
            throw APIError.badRequest("FOREIGN_OWNER", foreign.message)
        }
        if existing != nil {
            // A change names the whole list: the author is not added, the list must still include it.
            owners = []
            for owner in requested where !owners.contains(owner) { owners.append(owner) }
            let visible = FlowOwnership.visibleOwnerIDs(of: principal, isPlatformAdmin: admin)
            if let visible, !owners.contains(where: { visible.contains($0.id) }) {
                throw APIError.badRequest("OWNERS_EXCLUDE_CALLER", "owners must include you or your tenant.")
            }
        }
        return (owners, draft.tenant ?? principal.tenant)
    }
}
