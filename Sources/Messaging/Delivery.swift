import Foundation
import PortcullisCore
public import Storage

/// What a handler knows about the delivery in hand, and its idempotency helper.
public struct Delivery: Sendable {
    public let group: String
    /// 1 on the first delivery; higher after failures or a crashed consumer.
    public let attempts: Int
    let eventID: String
    let database: any Database
    let clock: WallClock

    /// Runs `body` in a transaction, at most once per group and event id: a redelivered event whose earlier
    /// `once` committed skips `body`. Put the handler's state changes in `body` so they and the "done"
    /// mark commit together.
    ///
    /// - Returns: whether `body` ran.
    @discardableResult
    public func once(_ body: @Sendable (any DatabaseConnection) async throws -> Void) async throws -> Bool {
        let group = self.group
        let eventID = self.eventID
        return try await self.database.transaction { connection in
            let now = Timestamp.milliseconds(self.clock.now)
            let claimed = try await connection.first(
                """
                INSERT INTO bus_processed (group_name, event_id, processed_at) VALUES (\(group), \(eventID), \(now))
                ON CONFLICT (group_name, event_id) DO NOTHING RETURNING event_id
                """
            )
            guard claimed != nil else { return false }
            try await body(connection)
            return true
        }
    }
}
