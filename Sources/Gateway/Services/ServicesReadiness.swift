import Foundation
public import GatewayKit
public import Logging
public import PortcullisCore
public import ServiceLifecycle
import Synchronization

/// Every supervised background service is running: fails while one is waiting to be restarted, naming
/// it and why it stopped; passes again once it runs.
public struct ServicesReadiness: ReadinessCheck {
    public let name = "services"
    let supervisor: Supervisor

    public init(supervisor: Supervisor) {
        self.supervisor = supervisor
    }

    public func check() async -> ReadinessResult {
        let statuses = self.supervisor.snapshot
        let stopped = statuses.filter { !$0.value.running }.keys.sorted()
        var info: [String: JSONValue] = [
            "restarts": .int(Int64(statuses.values.reduce(0) { $0 + $1.restarts }))
        ]
        if !stopped.isEmpty {
            info["stopped"] = .array(stopped.map { .string($0) })
            info["problem"] = .string(
                stopped.map { "\($0) is not running" + (statuses[$0]?.lastFailure.map { " (\($0))" } ?? "") }.joined(separator: "; "))
        }
        return ReadinessResult(ready: stopped.isEmpty, info: info)
    }
}
