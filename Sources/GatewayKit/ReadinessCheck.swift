public import PortcullisCore

/// The outcome of one readiness check, with optional figures for operators.
public struct ReadinessResult: Sendable, Equatable {
    public var ready: Bool
    /// Extra figures shown next to the status in `/health/ready`, e.g. queue depths.
    public var info: [String: JSONValue]

    public init(ready: Bool, info: [String: JSONValue] = [:]) {
        self.ready = ready
        self.info = info
    }
}

/// One dependency that must work for the gateway to serve: reported by name in `/health/ready`.
public protocol ReadinessCheck: Sendable {
    var name: String { get }
    /// Whether the dependency works now. Must not throw; failures are `ready: false`.
    func check() async -> ReadinessResult
}
