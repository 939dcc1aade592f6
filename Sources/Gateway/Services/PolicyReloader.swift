import Foundation
public import GatewayKit
import Logging
public import Messaging
public import Policy
public import PortcullisCore
public import ServiceLifecycle
import UnixSignals

/// Reloads the policy files on SIGHUP. A set with any error is refused and the one in force stays: the
/// gateway keeps serving with its last good revision, and says why on the log.
public struct PolicyReloader: Service {
    let store: PolicyStore
    /// Brings every module's rows derived from the policy files in line (the identity module's built-in roles).
    let reloaded: @Sendable () async throws -> Void
    /// Where `audit.policy.reloaded` goes: the bus, and from there the audit log.
    let bus: DatabaseEventBus
    let clock: WallClock
    let logger: Logger

    public func run() async throws {
        let hangUps = await UnixSignalsSequence(trapping: .sighup)
        for await _ in hangUps.cancelOnGracefulShutdown() {
            let previous = self.store.current.revision
            do {
                let loaded = try self.store.reload()
                // Every check reads the store live; rows derived from the policy files are brought in line here.
                do {
                    try await self.reloaded()
                } catch {
                    self.logger.error(
                        "rows derived from the policies could not be updated; they change at the next restart", metadata: ["error": "\(error)"])
                }
                self.logger.notice(
                    "policies reloaded", metadata: ["policy.revision": .string(loaded.revision), "policy.previous": .string(previous)])
                let event = try Event(
                    name: "audit.policy.reloaded", serviceName: "gateway",
                    payload: ["policyRevision": .string(loaded.revision), "previousRevision": .string(previous)] as JSONValue, now: self.clock.now)
                do {
                    try await withDeadline(.seconds(5)) { [bus] in try await bus.publish(event) }
                } catch {
                    self.logger.warning("the reload could not be recorded in the audit log", metadata: ["error": "\(error)"])
                }
            } catch {
                self.logger.error(
                    "policy reload refused; keeping the policies in force", metadata: ["policy.revision": .string(previous), "error": "\(error)"])
            }
        }
    }
}
