public import Hummingbird

/// `{"status":"pass"|"fail","details":{"database":"pass",...}}`: OIH's healthcheck shape.
public struct HealthReport: ResponseEncodable, Sendable, Equatable {
    public var status: String
    public var details: [String: String]

    public init(status: String, details: [String: String]) {
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
        let results = await withTaskGroup(of: (String, Bool).self) { group in
            for check in self.checks {
                group.addTask { (check.name, await check.isReady()) }
            }
            var results: [String: String] = [:]
            for await (name, ready) in group {
                results[name] = ready ? "pass" : "fail"
            }
            return results
        }
        return HealthReport(status: results.values.allSatisfy { $0 == "pass" } ? "pass" : "fail", details: results)
    }
}
