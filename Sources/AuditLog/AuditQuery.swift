public import Foundation
import PortcullisCore
import Storage

/// A `GET /logs` query: the filters of API.md §7 and what the caller may see.
public struct AuditQuery: Sendable, Hashable {
    /// Which records a caller may read.
    public enum Visibility: Sendable, Hashable {
        /// Every record (platform admins).
        case all
        /// Records of `tenant` and records of the caller's own actions.
        case own(tenant: String?, actor: String)
    }

    public var service: String?
    public var name: String?
    public var outcome: String?
    public var actor: String?
    public var tenant: String?
    public var requestID: String?
    /// `push` for records appended through `POST /logs`, `gateway` for Portcullis's own (no origin).
    public var origin: String?
    public var from: Date?
    public var to: Date?
    public var visibility: Visibility

    public init(visibility: Visibility) {
        self.visibility = visibility
    }

    var whereClause: SQLQuery {
        var conditions: [SQLQuery] = []
        if let service { conditions.append("service_name = \(service)") }
        if let name { conditions.append("name = \(name)") }
        if let outcome { conditions.append("outcome = \(outcome)") }
        if let actor { conditions.append("actor_sub = \(actor)") }
        if let tenant { conditions.append("tenant = \(tenant)") }
        if let requestID { conditions.append("request_id = \(requestID)") }
        switch self.origin {
        case "push"?: conditions.append("origin = 'push'")
        case "gateway"?: conditions.append("origin IS NULL")
        default: break
        }
        if let from { conditions.append("created_ms >= \(Timestamp.milliseconds(from))") }
        if let to { conditions.append("created_ms <= \(Timestamp.milliseconds(to))") }
        if case .own(let tenant, let actor) = self.visibility {
            if let tenant {
                conditions.append("(tenant = \(tenant) OR actor_sub = \(actor))")
            } else {
                conditions.append("actor_sub = \(actor)")
            }
        }
        guard var clause = conditions.first.map({ " WHERE " + $0 }) else { return "" }
        for condition in conditions.dropFirst() {
            clause.append(" AND " + condition)
        }
        return clause
    }
}

extension AuditChain {
    /// The records `query` selects, newest first, and how many there are in all.
    public func list(_ query: AuditQuery, offset: Int, limit: Int) async throws -> (items: [ChainedRecord], total: Int) {
        let filter = query.whereClause
        let total = try await self.database.first("SELECT COUNT(*) AS total FROM audit_records\(filter)").map { try $0.int("total") } ?? 0
        let rows = try await self.database.query(
            "SELECT body, prev_hash, hash FROM audit_records\(filter) ORDER BY seq DESC LIMIT \(Int64(limit)) OFFSET \(Int64(offset))"
        )
        return (try rows.map(Self.chained), Int(total))
    }
}
