import Foundation
public import Logging
public import Messaging
public import PortcullisCore
import Storage

/// What the repository does with its collaborators' events, each once per event (``Delivery/once(_:)``,
/// in the transaction of the change):
///
/// - `flow.started` → `active` (keeping the flow token's client id), `flow.stopped` → `inactive`,
///   `flow.failed` → `stopping` with the reason kept as `statusReason`, publishing `flow.stopping`; an
///   event that does not fit the status (late or repeated) changes nothing.
/// - `iam.user.deleted` removes the account from every flow's owners and stops the running flows left
///   without owners; `iam.tenant.deleted` stops the tenant's running flows.
public struct FlowEventHandlers: Sendable {
    public static let group = "flow-repository"
    public static let patterns = ["flow.started", "flow.stopped", "flow.failed", "iam.user.deleted", "iam.tenant.deleted"]

    let store: FlowStore
    let control: FlowControl
    let announcer: FlowAnnouncer
    let logger: Logger

    public init(store: FlowStore, control: FlowControl, announcer: FlowAnnouncer, logger: Logger) {
        self.announcer = announcer
        self.store = store
        self.control = control
        self.logger = logger
    }

    public func handle(_ event: Event, _ delivery: Delivery) async throws {
        guard case .object(let payload) = event.payload, case .string(let id)? = payload["id"], !id.isEmpty else {
            self.logger.error("event without an id ignored", metadata: ["event.id": .string(event.id), "event.name": .string(event.name)])
            return
        }
        let requestID = event.headers.requestID
        // Once the change has committed (or not), drop what it may have changed from this process's cache
        // again, as ``FlowStore/transaction(changing:_:)`` does: a read beside the transaction may have
        // cached the version before it. A deletion in IAM may change many flows, and is rare: all go.
        defer { event.name.hasPrefix("iam.") ? self.store.cache.invalidateAll() : self.store.cache.invalidate(id) }
        // The round the answer belongs to; an answer without one (an OIH-shaped event) applies to the current round.
        let version: Int64? = if case .int(let number)? = payload["lifecycleVersion"] { number } else { nil }
        switch event.name {
        case "flow.started":
            var token: (accountID: String, clientID: String)?
            if case .object(let fields)? = payload["flowToken"], case .string(let account)? = fields["accountId"],
                case .string(let client)? = fields["clientId"]
            {
                token = (account, client)
            }
            let started = token
            try await delivery.once { connection in
                try await self.control.apply(
                    .started, to: id, actor: FlowAnnouncer.system, requestID: requestID, answering: version, on: connection
                ) { flow in
                    guard let started else { return }
                    flow.tokenClientID = started.clientID
                    let owner = FlowOwner(id: started.accountID, type: FlowOwnership.serviceType)
                    if !flow.owners.contains(owner) { flow.owners.append(owner) }
                    flow.draft.owners = flow.owners
                }
            }
        case "flow.stopped":
            try await delivery.once { connection in
                try await self.control.apply(.stopped, to: id, actor: FlowAnnouncer.system, requestID: requestID, answering: version, on: connection)
            }
        case "flow.failed":
            let reason: String = if case .string(let text)? = payload["reason"] { text.utf8Prefix(500) } else { "The flow failed." }
            try await delivery.once { connection in
                try await self.control.apply(
                    .failed(reason: reason), to: id, actor: FlowAnnouncer.system, requestID: requestID, answering: version, on: connection)
            }
        case "iam.user.deleted":
            try await delivery.once { connection in
                for flowID in try await self.store.removeOwner(id, type: FlowOwnership.userType, on: connection) {
                    // A change like any other: a PATCH that read the old owners no longer matches `updatedAt`.
                    if var flow = try await self.store.find(id: flowID, on: connection, locking: true) {
                        flow.updatedAt = max(self.announcer.clock.now, flow.updatedAt.addingTimeInterval(0.001))
                        try await self.store.update(flow, on: connection)
                        try await self.announcer.changed(
                            "modified", flow, actor: FlowAnnouncer.system, requestID: requestID, details: ["removedOwner": .string(id)],
                            on: connection)
                    }
                    guard try await self.store.ownerCount(of: flowID, on: connection) == 0 else { continue }
                    try await self.stopIfRunning(flowID, reason: "Every owner of the flow was deleted.", requestID: requestID, on: connection)
                }
            }
        case "iam.tenant.deleted":
            try await delivery.once { connection in
                for flowID in try await self.store.flowIDs(ofTenant: id, on: connection) {
                    try await self.stopIfRunning(flowID, reason: "The flow's tenant was deleted.", requestID: requestID, on: connection)
                }
            }
        default:
            return
        }
    }

    /// Stops the flow when it is `starting` or `active`; a flow at rest or already stopping stays as it is.
    private func stopIfRunning(_ flowID: String, reason: String, requestID: String?, on connection: any DatabaseConnection) async throws {
        guard let flow = try await self.store.find(id: flowID, on: connection), flow.status == .starting || flow.status == .active else { return }
        try await self.control.apply(.stop, to: flowID, actor: FlowAnnouncer.system, requestID: requestID, on: connection) { flow in
            flow.statusReason = reason
        }
    }
}
