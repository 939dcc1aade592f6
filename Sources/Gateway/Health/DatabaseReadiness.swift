import AuditLog
import Foundation
public import GatewayKit
public import Messaging
public import Policy
public import PortcullisCore
public import Storage

/// The database answers a trivial query. Also reports `abandoned`: database calls given up on at their
/// deadline that have not ended yet (``AbandonedWork``), which should return to zero after an outage.
public struct DatabaseReadiness: ReadinessCheck {
    public let name = "database"
    let database: any Database
    let timeout: Duration

    public init(database: any Database, timeout: Duration = .seconds(5)) {
        self.database = database
        self.timeout = timeout
    }

    public func check() async -> ReadinessResult {
        let answered = (try? await withDeadline(self.timeout) { [database] in try await database.ping() }) != nil
        return ReadinessResult(ready: answered, info: ["abandoned": .int(Int64(AbandonedWork.shared.running))])
    }
}
