import Foundation
public import Messaging
public import PortcullisCore
public import Storage

/// The events the repository publishes, always inside the transaction of the change they report (the
/// transactional outbox): `flowrepo.flow.*` for other modules, `audit.flow.*` for the audit log, and the
/// lifecycle's `flow.starting` and `flow.stopping` for the orchestrator, webhooks and the scheduler.
public struct FlowAnnouncer: Sendable {
    public static let serviceName = "flow-repository"
    /// The actor of changes the repository makes on its own (a collaborator's event, an owner's deletion).
    static let system = AuditActor(sub: nil, type: "service", tenant: nil, tokenID: nil, act: nil)

    let bus: any EventBus
    let clock: WallClock

    public init(bus: any EventBus, clock: WallClock) {
        self.bus = bus
        self.clock = clock
    }

    /// A created, modified or deleted flow: `flowrepo.flow.<change>` with the flow, and its audit record.
    func changed(
        _ change: String, _ flow: Flow, actor: AuditActor, requestID: String?, details: [String: JSONValue] = [:],
        on connection: any DatabaseConnection
    ) async throws {
        try await self.publish("flowrepo.flow.\(change)", payload: try JSONValue(encoding: flow), flow: flow, requestID: requestID, on: connection)
        try await self.audit(change, flow, actor: actor, requestID: requestID, details: details, on: connection)
    }

    /// `flowrepo.flow.modified` alone, for a change whose audit record says more (a status change).
    func modified(_ flow: Flow, requestID: String?, on connection: any DatabaseConnection) async throws {
        try await self.publish("flowrepo.flow.modified", payload: try JSONValue(encoding: flow), flow: flow, requestID: requestID, on: connection)
    }

    /// `flow.starting` or `flow.stopping`: the whole flow (its `startedBy` included; its webhook secret
    /// only sealed), with the round (`lifecycleVersion`) the orchestrator's answer must echo.
    func lifecycle(_ name: String, _ flow: Flow, requestID: String?, on connection: any DatabaseConnection) async throws {
        guard case .object(var payload) = try JSONValue(encoding: flow) else { return }
        payload["lifecycleVersion"] = .int(flow.lifecycleVersion)
        // The webhooks module checks signatures with it; sealed under the master key, never in clear.
        if let sealed = flow.sealedHMACSecret { payload["sealedHmacSecret"] = .string(Data(sealed).base64EncodedString()) }
        try await self.publish(name, payload: .object(payload), flow: flow, requestID: requestID, on: connection)
    }

    /// `audit.flow.<action>`: who did what to which flow; `details` adds fields such as a failure's reason.
    func audit(
        _ action: String, _ flow: Flow, actor: AuditActor, requestID: String?, details: [String: JSONValue] = [:],
        on connection: any DatabaseConnection
    ) async throws {
        var payload: [String: JSONValue] = details
        payload["actor"] = try JSONValue(encoding: actor)
        payload["resource"] = ["type": "flow", "id": .string(flow.id), "tenant": flow.draft.tenant.map(JSONValue.string) ?? .null]
        payload["flowId"] = .string(flow.id)
        payload["status"] = .string(flow.status.rawValue)
        if let name = flow.draft.name { payload["flowName"] = .string(name) }
        try await self.publish("audit.flow.\(action)", payload: .object(payload), flow: flow, requestID: requestID, on: connection)
    }

    private func publish(_ name: String, payload: JSONValue, flow: Flow, requestID: String?, on connection: any DatabaseConnection) async throws {
        try await self.bus.publish(
            try Event(
                name: name, serviceName: Self.serviceName, payload: payload, requestID: requestID, tenant: flow.draft.tenant, now: self.clock.now),
            on: connection)
    }
}
