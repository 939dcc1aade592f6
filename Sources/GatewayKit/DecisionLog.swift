public import PortcullisCore

/// Where the gateway's decision records go, durably and in order: the audit log's chain. Exactly one
/// module (audit) provides it; the gateway's decision journal appends each group commit's records with
/// one call, and a request is answered only after its records are in.
public protocol DecisionLog: Sendable {
    /// Appends `records` in order, all or none.
    func append(decisions records: [PreparedRecord]) async throws
}
