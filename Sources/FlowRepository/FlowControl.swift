import Foundation
public import GatewayKit
public import Logging
public import PortcullisCore
public import Storage

/// Starting and stopping flows (API.md §3), and the status changes the orchestrator's answers and IAM's
/// deletions bring: each a ``FlowLifecycle`` transition written in one transaction with the event it
/// publishes (`flow.starting`, `flow.stopping`) and its audit record.
public struct FlowControl: Sendable {
    let database: any Database
    let store: FlowStore
    let access: FlowAccess
    let announcer: FlowAnnouncer
    let credentials: @Sendable () throws -> any FlowCredentials
    let clock: WallClock
    let logger: Logger

    public init(
        database: any Database, store: FlowStore, access: FlowAccess, announcer: FlowAnnouncer,
        credentials: @escaping @Sendable () throws -> any FlowCredentials, clock: WallClock, logger: Logger
    ) {
        self.logger = logger
        self.database = database
        self.store = store
        self.access = access
        self.announcer = announcer
        self.credentials = credentials
        self.clock = clock
    }

    /// A command's answer: `{id, status}`.
    public struct StatusChange: Sendable, Encodable {
        public let id: String
        public let status: FlowStatus
    }

    public enum Command: String, Sendable {
        case start, stop

        var trigger: FlowLifecycle.Trigger { self == .start ? .start : .stop }
    }

    /// `POST /flows/{id}/start` or `/stop`: 404 for a flow the caller does not see, 409 when the status
    /// forbids it.
    public func run(_ command: Command, on id: String, by caller: FlowCaller) async throws -> StatusChange {
        let flow = try await self.access.visible(id, to: caller)
        let changed = try await self.access.refusingStale(caller) {
            try await self.apply(command.trigger, to: flow.id, actor: caller.actor, requestID: caller.requestID, visibleTo: caller) { flow in
                flow.startedBy = command == .start ? caller.principal.accountID : flow.startedBy
            }
        }
        guard let changed else { throw FlowAccess.notFound }
        return StatusChange(id: changed.id, status: changed.status)
    }

    /// A command's outcome for one id of `POST /flows/multiple/start|stop`.
    public enum Outcome: Sendable {
        case changed(StatusChange)
        case refused(id: String, APIError)
    }

    /// Each id on its own: every answer one would get alone (a 503 too) becomes its entry, so the answer
    /// tells exactly which flows changed.
    public func run(_ command: Command, onEach ids: [String], by caller: FlowCaller) async throws -> [Outcome] {
        try FlowCommands.checkBatch(ids.count)
        var outcomes: [Outcome] = []
        for id in ids {
            do {
                outcomes.append(.changed(try await self.run(command, on: id, by: caller)))
            } catch {
                outcomes.append(.refused(id: id, ErrorResponse.apiError(for: error, logger: self.logger)))
            }
        }
        return outcomes
    }

    /// `POST /flows/{id}/credentials`: a new secret for the running flow's token, shown once. The
    /// rotation and its audit record commit together, while the flow's row is held: a stop cannot slip in
    /// between the status check and the new secret.
    public func rotateCredentials(of id: String, by caller: FlowCaller) async throws -> FlowSecret {
        let flow = try await self.access.visible(id, to: caller)
        let credentials = try self.credentials()
        return try await self.access.change(flow.id, by: caller) { connection, current in
            guard current.status == .starting || current.status == .active,
                let secret = try await credentials.rotateSecret(flowID: current.id, on: connection)
            else {
                throw APIError.conflict("FLOW_NOT_RUNNING", "Flow has no credentials while it is \(current.status.rawValue); start it first.")
            }
            try await self.announcer.audit(
                "credentials_rotated", current, actor: caller.actor, requestID: caller.requestID, on: connection)
            return secret
        }
    }

    /// Applies `trigger` to the flow in one transaction that holds its row: the status, the lifecycle
    /// event it publishes, its audit record. Returns the changed flow; nil when the flow is gone or, for an
    /// event, when it does not fit the status or answers another round (`version`, the
    /// ``Flow/lifecycleVersion`` the orchestrator echoes): stale, nothing changes. A command that does not
    /// fit is a 409. With `caller` (a command), the caller's visibility is decided again on the row
    /// (``FlowAccess/reread(_:for:on:)``): it was decided on a copy that may be out of date.
    @discardableResult
    func apply(
        _ trigger: FlowLifecycle.Trigger, to id: String, actor: AuditActor, requestID: String?, answering version: Int64? = nil,
        visibleTo caller: FlowCaller? = nil, on connection: (any DatabaseConnection)? = nil,
        _ adjust: @escaping @Sendable (inout Flow) -> Void = { _ in }
    ) async throws -> Flow? {
        // A command's refusal is turned into its answer by `FlowAccess.refusingStale` around its own
        // transaction; inside someone else's (an event's) it would escape as an unknown error.
        precondition(caller == nil || connection == nil, "a command's visibility is decided in a transaction of its own")
        let body: @Sendable (any DatabaseConnection) async throws -> Flow? = { connection in
            var flow: Flow
            if let caller {
                flow = try await self.access.reread(id, for: caller, on: connection)
            } else {
                guard let found = try await self.store.find(id: id, on: connection, locking: true) else { return nil }
                flow = found
            }
            if let version, version != flow.lifecycleVersion { return nil }
            let transition: FlowLifecycle.Transition
            switch FlowLifecycle.transition(from: flow.status, on: trigger) {
            case .success(let next): transition = next
            case .failure(.conflict(let message)): throw APIError.conflict("FLOW_STATUS_CONFLICT", message)
            case .failure(.stale): return nil
            }
            flow.status = transition.status
            if let reason = transition.statusReason { flow.statusReason = reason }
            if trigger == .start { flow.statusReason = nil }
            if transition.status == .inactive {
                flow.tokenClientID = nil
                flow.owners.removeAll { $0.type == FlowOwnership.serviceType }
                flow.draft.owners = flow.owners
            }
            // A new round for the orchestrator: its answers to the previous one are stale from now on.
            if transition.publishes != nil { flow.lifecycleVersion += 1 }
            adjust(&flow)
            flow.updatedAt = max(self.clock.now, flow.updatedAt.addingTimeInterval(0.001))
            try await self.store.update(flow, on: connection)
            try await self.announcer.modified(flow, requestID: requestID, on: connection)
            if let event = transition.publishes {
                try await self.announcer.lifecycle(event, flow, requestID: requestID, on: connection)
            }
            try await self.announcer.audit(
                Self.auditAction(trigger), flow, actor: actor, requestID: requestID,
                details: transition.statusReason.map { ["reason": .string($0)] } ?? [:], on: connection)
            return flow
        }
        if let connection { return try await body(connection) }
        return try await self.store.transaction(changing: id, body)
    }

    static func auditAction(_ trigger: FlowLifecycle.Trigger) -> String {
        switch trigger {
        case .start: "start_requested"
        case .stop: "stop_requested"
        case .started: "started"
        case .stopped: "stopped"
        case .failed: "failed"
        }
    }
}
