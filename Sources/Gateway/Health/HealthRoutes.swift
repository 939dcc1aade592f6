public import Hummingbird
import Policy
public import PortcullisCore

/// `{"status":"pass"|"fail","details":{"database":"pass",...}}`: OIH's healthcheck shape. A check with
/// figures reports an object instead of a string: `"bus":{"status":"pass","queues":{...},"deadLetters":0}`.
public struct HealthReport: ResponseEncodable, Sendable, Equatable {
    public var status: String
    public var details: [String: JSONValue]

    public init(status: String, details: [String: JSONValue]) {
        self.status = status
        self.details = details
    }
}

/// `/healthcheck` (OIH), `/health/live` and `/health/ready`.
///
/// Liveness says the process serves HTTP; readiness runs every ``ReadinessCheck`` at once and answers 503
/// when any fails, so a load balancer stops sending traffic to a replica that cannot do its work.
public struct HealthRoutes: Sendable {
    let checks: [any ReadinessCheck]

    public init(checks: [any ReadinessCheck]) {
        self.checks = checks
    }

    public func register(on routes: RouteRegistry) {
        routes.get("/health/live") { _, _ in
            HealthReport(status: "pass", details: [:])
        }
        routes.get("/health/ready") { _, _ in
            try await self.readiness()
        }
        routes.get("/healthcheck") { _, _ in
            try await self.readiness()
        }
    }

    func readiness() async throws -> EditedResponse<HealthReport> {
        let report = await self.report()
        return EditedResponse(status: report.status == "pass" ? .ok : .serviceUnavailable, response: report)
    }

    public func report() async -> HealthReport {
        let results = await withTaskGroup(of: (String, ReadinessResult).self) { group in
            for check in self.checks {
                group.addTask { (check.name, await check.check()) }
            }
            var results: [String: ReadinessResult] = [:]
            for await (name, result) in group {
                results[name] = result
            }
            return results
        }
        var details: [String: JSONValue] = [:]
        for (name, result) in results {
            let status: JSONValue = result.ready ? "pass" : "fail"
            details[name] = result.info.isEmpty ? status : .object(result.info.merging(["status": status]) { _, new in new })
        }
        return HealthReport(status: results.values.allSatisfy(\.ready) ? "pass" : "fail", details: details)
    }
}
