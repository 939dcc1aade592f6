import Foundation
public import Policy
public import PortcullisCore
public import Storage

/// The route-stage decision records of a period, read from the chain in pages, each with the permission
/// set its digest names.
public struct RecordedDecisions: Sendable {
    let database: any Database
    static let pageSize = 2_000

    public init(database: any Database) {
        self.database = database
    }

    /// What a decision record's text holds that a replay needs.
    private struct Stored: Decodable {
        let stage: String?
        let outcome: String?
        let reason: String?
        let rule: String?
        let requestId: String?
        let actor: AuditActor?
        let resource: AuditResource?
    }

    /// Replays every route-stage decision recorded at or after `since` (milliseconds since 1970) into `diff`.
    public func replay(since: Int64, into diff: inout PolicyDiff) async throws {
        var sets: [String: PermissionSet?] = [:]
        // The period's first record, found by the creation-time index; from there the pages follow the
        // primary key (records are appended in time order).
        guard let first = try await self.database.first("SELECT MIN(seq) AS seq FROM audit_records WHERE created_ms >= \(since)"),
            let start = try? first.int("seq")
        else { return }
        var last = start - 1
        while true {
            let rows = try await self.database.query(
                """
                SELECT seq, body FROM audit_records WHERE seq > \(last) AND name = \(DecisionPayload.eventName)
                ORDER BY seq LIMIT \(Self.pageSize)
                """)
            guard !rows.isEmpty else { return }
            var page: [Stored] = []
            for row in rows {
                last = try row.int("seq")
                guard let stored = try? JSONDecoder().decode(Stored.self, from: Data(try row.string("body").utf8)), stored.stage == "route"
                else { continue }
                page.append(stored)
            }
            let wanted = Set(page.compactMap { $0.actor?.permissions }).filter { sets[$0] == nil }
            if !wanted.isEmpty {
                for digest in wanted { sets[digest] = .some(nil) }
                let found = try await self.database.query(
                    "SELECT digest, permissions FROM audit_permission_sets WHERE digest IN (\(list: Array(wanted)))")
                for row in found {
                    let digest = try row.string("digest")
                    // A row changed since it was written no longer matches its digest: it is not believed.
                    if let set = PermissionSet(canonicalText: try row.string("permissions")), set.digest == digest { sets[digest] = set }
                }
            }
            for stored in page {
                guard let outcome = stored.outcome.flatMap(Decision.Outcome.init(rawValue:)), let method = stored.resource?.method,
                    let path = stored.resource?.path
                else { continue }
                diff.add(
                    RecordedRouteDecision(
                        requestID: stored.requestId, method: method, path: path, outcome: outcome, reason: stored.reason ?? "", rule: stored.rule,
                        actor: stored.actor, permissions: stored.actor?.permissions.flatMap { sets[$0] ?? nil }))
            }
        }
    }
}
