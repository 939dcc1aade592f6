import Foundation
import Gateway
import IAM
import Logging
import Policy
import PortcullisCore
import ServiceLifecycle
import UnixSignals

/// Reloads the policy files on SIGHUP. A set with any error is refused and the one in force stays: the
/// gateway keeps serving with its last good revision, and says why on the log.
struct PolicyReloader: Service {
    let store: PolicyStore
    let identity: Identity
    let journal: DecisionJournal
    let logger: Logger

    func run() async throws {
        let hangUps = await UnixSignalsSequence(trapping: .sighup)
        for await _ in hangUps.cancelOnGracefulShutdown() {
            let previous = self.store.current.revision
            do {
                let loaded = try self.store.reload()
                // IAM's checks read the store live; the built-in roles are rows, brought in line here.
                do {
                    try await self.identity.policiesReloaded()
                } catch {
                    self.logger.error("the built-in roles could not be updated; they change at the next restart", metadata: ["error": "\(error)"])
                }
                self.logger.notice(
                    "policies reloaded", metadata: ["policy.revision": .string(loaded.revision), "policy.previous": .string(previous)])
                let event = try Event(
                    name: "audit.policy.reloaded", serviceName: "gateway",
                    payload: ["policyRevision": .string(loaded.revision), "previousRevision": .string(previous)] as JSONValue)
                do {
                    try await self.journal.record(event)
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
