import Foundation
public import Logging
public import PortcullisCore
public import Storage

/// A module's own row for one flow, remembering the round (`lifecycleVersion`) and state of the last
/// lifecycle event it handled. The orchestrator, the webhooks and the scheduler each keep one table of
/// these, and each handles an event by holding the flow's row first, so that the events of one flow are
/// handled one at a time on every replica and an event of an older round can be told apart.
///
/// ```swift
/// let rows = FlowRoundRow(table: "webhook_flows", placeholder: "scheduled = 0, require_auth = 0")
/// let held = try await rows.hold(flowID, on: connection)
/// guard round >= held.round else { return }   // an older round: ignored
/// ```
public struct FlowRoundRow: Sendable {
    let table: String
    let columns: String
    let values: String

    /// - Parameters:
    ///   - table: the module's table, with `flow_id` (primary key), `state` and `version` columns.
    ///   - placeholder: values for the table's other NOT NULL columns in the row made on first sight,
    ///     as `column = literal` pairs the program itself wrote.
    public init(table: StaticString, placeholder: StaticString = "") {
        self.table = "\(table)"
        var columns = ""
        var values = ""
        for pair in "\(placeholder)".split(separator: ",") {
            let parts = pair.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2 else { preconditionFailure("placeholder pair without '=': \(pair)") }
            columns += ", \(parts[0])"
            values += ", \(parts[1])"
        }
        self.columns = columns
        self.values = values
    }

    /// A lifecycle event of one flow as a follower handles it: its flow, its round, and what the row held.
    public struct Step: Sendable {
        public let flowID: String
        /// The event's round (`lifecycleVersion`).
        public let round: Int64
        /// The round and state the module's row held before this event.
        public let held: (round: Int64, state: String)
    }

    /// An answer that came before the start it answers (replicas handle events side by side): throw it to
    /// have the event handled again later, once its `flow.starting` is in.
    public struct EarlierEventPending: Error {
        public init() {}
    }

    /// Handles `event` of one flow once (``Delivery/once(_:)``), holding the flow's row, and only when it
    /// belongs to the row's round or a newer one: `body` does the module's part in the same transaction.
    /// An event without a flow id is logged and dropped.
    public func follow(
        _ event: Event, _ delivery: Delivery, logger: Logger,
        _ body: @Sendable (Step, any DatabaseConnection) async throws -> Void
    ) async throws {
        guard let flowID = FlowAnnouncement.flowID(of: event) else {
            logger.error("lifecycle event without a flow id", metadata: ["event.id": .string(event.id), "event.name": .string(event.name)])
            return
        }
        let round = FlowAnnouncement.round(of: event)
        try await delivery.once { connection in
            let held = try await self.hold(flowID, on: connection)
            guard round >= held.round else { return }
            try await body(Step(flowID: flowID, round: round, held: held), connection)
        }
    }

    /// The row's round and state, holding the row until the transaction ends; a flow seen for the first
    /// time gets a row in state `new` and round -1, so that there is a row to hold.
    public func hold(_ flowID: String, on connection: any DatabaseConnection) async throws -> (round: Int64, state: String) {
        try await connection.execute(
            """
            INSERT INTO \(unsafe: self.table) (flow_id, state, version\(unsafe: self.columns)) VALUES (\(flowID), 'new', -1\(unsafe: self.values))
            ON CONFLICT (flow_id) DO NOTHING
            """
        )
        let lock: SQLQuery = connection.dialect == .postgres ? " FOR UPDATE" : ""
        guard let row = try await connection.first("SELECT version, state FROM \(unsafe: self.table) WHERE flow_id = \(flowID)\(lock)") else {
            return (-1, "new")
        }
        return (try row.int("version"), try row.string("state"))
    }
}
