/// The flow lifecycle of API.md §3 as one pure function: what a command or a collaborator's event does to
/// a flow's status, and which event the repository publishes with the change (in the same transaction:
/// the outbox).
///
/// `inactive` -start-> `starting` -flow.started-> `active` -stop-> `stopping` -flow.stopped-> `inactive`;
/// `flow.failed` moves `starting` (or `active`) to `stopping` and publishes `flow.stopping`. Unlike OIH, a
/// stop of a `starting` flow is accepted, so no flow is stuck half-started.
public enum FlowLifecycle {
    /// What changes the status.
    public enum Trigger: Sendable, Hashable {
        /// `POST /flows/{id}/start`.
        case start
        /// `POST /flows/{id}/stop`.
        case stop
        /// The orchestrator's `flow.started`.
        case started
        /// The orchestrator's `flow.stopped`.
        case stopped
        /// The orchestrator's `flow.failed`, with its reason.
        case failed(reason: String)
    }

    /// The new status, the event to publish with it, and the reason to keep on the flow.
    public struct Transition: Sendable, Hashable {
        public let status: FlowStatus
        /// `flow.starting` or `flow.stopping`; nil when the change publishes nothing of the lifecycle.
        public let publishes: String?
        public let statusReason: String?
    }

    /// Why a trigger does not apply.
    public enum Refusal: Error, Sendable, Hashable {
        /// A command that the status forbids: 409 with this message.
        case conflict(String)
        /// An event that does not fit the status (late, repeated or out of order): nothing changes, nothing
        /// is published, and the event is acknowledged, so that a redelivery is harmless.
        case stale
    }

    public static func transition(from status: FlowStatus, on trigger: Trigger) -> Result<Transition, Refusal> {
        switch (trigger, status) {
        case (.start, .inactive):
            .success(Transition(status: .starting, publishes: "flow.starting", statusReason: nil))
        case (.start, .starting), (.start, .active):
            .failure(.conflict("Flow is already \(status.rawValue)."))
        case (.start, .stopping):
            .failure(.conflict("Flow is stopping; start it again once it is inactive."))
        case (.stop, .starting), (.stop, .active):
            .success(Transition(status: .stopping, publishes: "flow.stopping", statusReason: nil))
        case (.stop, .inactive):
            .failure(.conflict("Flow is not active."))
        case (.stop, .stopping):
            .failure(.conflict("Flow is already stopping."))
        case (.started, .starting):
            .success(Transition(status: .active, publishes: nil, statusReason: nil))
        case (.stopped, .stopping):
            .success(Transition(status: .inactive, publishes: nil, statusReason: nil))
        case (.failed(let reason), .starting), (.failed(let reason), .active):
            .success(Transition(status: .stopping, publishes: "flow.stopping", statusReason: reason))
        case (.started, _), (.stopped, _), (.failed, _):
            .failure(.stale)
        }
    }

    /// PATCH and DELETE need a flow at rest.
    public static func allowsChanges(_ status: FlowStatus) -> Bool {
        status == .inactive
    }
}
