import Foundation
public import GatewayKit
import Hummingbird
public import Policy
import PortcullisCore
public import Storage

/// `GET /schedules` (`schedules.read`): the schedules of the cron flows the caller owns (platform admins:
/// all), as `{flowId, cron, cronTimezone, dueExecution, lastExecution}`; `cronTimezone` is `UTC` when the
/// flow named none.
public struct ScheduleRoutes: Sendable {
    let database: any Database
    let policies: PolicyStore

    public init(database: any Database, policies: PolicyStore) {
        self.database = database
        self.policies = policies
    }

    struct Schedule: Encodable, Sendable {
        let flowID: String
        let cron: String
        let cronTimezone: String
        let dueExecution: Date?
        let lastExecution: Date?

        enum CodingKeys: String, CodingKey {
            case flowID = "flowId"
            case cron, cronTimezone, dueExecution, lastExecution
        }
    }

    public func register(on routes: RouteRegistry) {
        routes.read("/schedules") { request, context in
            let principal = try context.requirePrincipal()
            let page = try Pagination(request)
            let authorizer = self.policies.current.authorizer
            let admin = authorizer.holds(principal, "all")
            let listing = Decision(outcome: .allow, reason: admin ? "ALLOWED" : "OWNED_ONLY", required: ["all"], policyRevision: authorizer.revision)
            try await authorizer.check(
                listing, about: nil, on: ResourceRef(type: "schedules", id: "*", tenant: principal.tenant), recordingTo: context.decisions)
            let rows = try await self.database.query(
                "SELECT flow_id, cron, timezone, tenant, owners, due_at, last_at FROM scheduler_flows WHERE state = 'active' ORDER BY flow_id")
            // Visible as flows are: the owners at start name the caller or its tenant, within its tenant.
            var visible: [Schedule] = []
            for row in rows {
                let owners = Set(try row.optionalString("owners").map { try JSONCoding.decode([String].self, from: $0) } ?? [])
                let tenant = try row.optionalString("tenant")
                guard authorizer.admits(principal, toTenant: tenant), authorizer.decide(principal, platform: "all", ownedBy: owners).allowed
                else { continue }
                visible.append(
                    Schedule(
                        flowID: try row.string("flow_id"), cron: try row.string("cron"), cronTimezone: try row.optionalString("timezone") ?? "UTC",
                        dueExecution: try row.optionalInt("due_at").map(Timestamp.date(milliseconds:)),
                        lastExecution: try row.optionalInt("last_at").map(Timestamp.date(milliseconds:))))
            }
            return PageEnvelope(paging: visible, page: page)
        }
    }
}
