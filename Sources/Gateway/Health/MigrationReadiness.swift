import AuditLog
import Foundation
public import GatewayKit
public import Messaging
public import Policy
public import PortcullisCore
public import Storage

/// Every migration this build knows has been applied.
public struct MigrationReadiness: ReadinessCheck {
    public let name = "migrations"
    let runner: MigrationRunner
    let timeout: Duration

    /// - Parameter timeout: how long the check may take before it counts as failed; a probe should not hang.
    public init(runner: MigrationRunner, timeout: Duration = .seconds(3)) {
        self.runner = runner
        self.timeout = timeout
    }

    public func check() async -> ReadinessResult {
        do {
            let pending = try await withDeadline(self.timeout) { [runner] in try await runner.pending() }
            return ReadinessResult(ready: pending.isEmpty)
        } catch {
            return ReadinessResult(ready: false)
        }
    }
}
