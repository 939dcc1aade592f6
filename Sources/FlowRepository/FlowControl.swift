import Foundation
public import GatewayKit
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

    public init(
        database: any Database, store: FlowStore, access: FlowAccess, announcer: FlowAnnouncer,
        credentials: @escaping @Sendable () throws -> any FlowCredentials, clock: WallClock
    ) {
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
        let flow = try await self.access.visible(FlowID.isWellFormed(id) ? try await self.store.find(id: id) : nil, to: caller)
        let changed = try await self.apply(command.trigger, to: flow.id, actor: caller.actor, requestID: caller.requestID) { flow in
            flow.startedBy = command == .start ? caller.principal.accountID : flow.startedBy
        }
        guard let changed else { throw FlowAccess.notFound }
        return StatusChange(id: changed.id, status: changed.status)
    }

    /// A command's outcome for one id of `POST /flows/multiple/start|stop`.
    public enum Outcome: Sendable {
        case changed(StatusChange)
        case refused(id: String, APIError)
    }

    public func run(_ command: Command, onEach ids: [String], by caller: FlowCaller) async throws -> [Outcome] {
        guard (1...FlowCommands.maximumBatch).contains(ids.count) else {
            throw APIError.badRequest("INVALID_BODY", "The body must be an array of 1 to \(FlowCommands.maximumBatch) flow ids.")
        }
        var outcomes: [Outcome] = []
        for id in ids {
            do {
                outcomes.append(.changed(try await self.run(command, on: id, by: caller)))
            } catch let error as APIError where [404, 409].contains(error.status) {
                outcomes.append(.refused(id: id, error))
            }
        }
        return outcomes
    }

    /// `POST /flows/{id}/credentials`: a new secret for the running flow's token, shown once.
    public func rotateCredentials(of id: String, by caller: FlowCaller) async throws -> FlowSecret {
        let flow = try await self.access.visible(FlowID.isWellFormed(id) ? try await self.store.find(id: id) : nil, to: caller)
        guard let secret = try await self.credentials().rotateSecret(flowID: flow.id) else {
            throw APIError.conflict("FLOW_NOT_RUNNING", "Flow has no credentials while it is \(flow.status.rawValue); start it first.")
        }
        try await self.database.transaction { connection in
            try await self.announcer.audit("credentials_rotated", flow, actor: caller.actor, requestID: caller.requestID, on: connection)
        }
        return secret
    }

    /// Applies `trigger` to the flow in one transaction that holds its row: the status, the lifecycle
    /// event it publishes, its audit record. Returns the changed flow; nil when the flow is gone or, for an
    /// event, when it does not fit the status (stale: nothing changes). A command that does not fit is a 409.
    @discardableResult
    func apply(
        _ trigger: FlowLifecycle.Trigger, to id: String, actor: AuditActor, requestID: String?, on connection: (any DatabaseConnection)? = nil,
        _ adjust: @escaping @Sendable (inout Flow) -> Void = { _ in }
    ) async throws -> Flow? {
        let body: @Sendable (any DatabaseConnection) async throws -> Flow? = { connection in
            guard var flow = try await self.store.find(id: id, on: connection, locking: true) else { return nil }
            let transition: FlowLifecycle.Transition
            switch FlowLifecycle.transition(from: flow.status, on: trigger) {
            case .success(let next): transition = next
            case .failure(.conflict(let message)): throw APIError.conflict("FLOW_STATUS_CONFLICT", message)
            case .failure(.stale): return nil
            }
            flow.status = transition.status
            if let reason = transition.statusReason { flow.statusReason = reason }
            if trigger == .start { flow.statusReason = nil }
            if transition.status == .inactive { flow.tokenClientID = nil }
            adjust(&flow)
            flow.updatedAt = max(self.clock.now, flow.updatedAt.addingTimeInterval(0.001))
            try await self.store.update(flow, on: connection)
            if let event = transition.publishes {
                try await self.announcer.lifecycle(event, flow, requestID: requestID, on: connection)
            }
            try await self.announcer.audit(
                Self.auditAction(trigger), flow, actor: actor, requestID: requestID,
                details: transition.statusReason.map { ["reason": .string($0)] } ?? [:], on: connection)
            return flow
        }
        if let connection { return try await body(connection) }
        return try await self.database.transaction(body)
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
