import AuditLog
import Foundation
public import GatewayKit
public import Messaging
public import Policy
public import PortcullisCore
public import Storage

/// The policy set in force: always ready once loaded; reports its revision so operators can tell which
/// policy files every replica runs.
public struct PolicyReadiness: ReadinessCheck {
    public let name = "policies"
    let policies: PolicyStore

    public init(policies: PolicyStore) {
        self.policies = policies
    }

    public func check() async -> ReadinessResult {
        ReadinessResult(ready: true, info: ["revision": .string(self.policies.current.revision)])
    }
}
