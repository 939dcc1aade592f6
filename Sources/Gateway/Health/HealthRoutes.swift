public import GatewayKit
public import Hummingbird
import NIOCore
public import Policy
public import PortcullisCore

/// `{"status":"pass"|"fail","details":{"database":"pass",...}}`: OIH's healthcheck shape. A check with
/// figures reports an object instead of a string: `"bus":{"status":"pass","queues":{...},"deadLetters":0}`.
public struct HealthReport: ResponseEncodable, Sendable, Equatable {
    public var status: String
    /// Nil for callers who may not read them: queue names, depths and the policy revision are no one's business.
    public var details: [String: JSONValue]?

    public init(status: String, details: [String: JSONValue]?) {
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
    let policies: PolicyStore
    let transitions: ReadinessTransitions?

    /// A passing report without details, as the response encoder writes it (a test compares the two).
    static let liveBody = ByteBuffer(string: #"{"details":{},"status":"pass"}"#)

    /// The permission that shows the details of a readiness answer.
    public static let detailsPermission = "metrics.read"

    /// - Parameter transitions: Where changes of readiness are logged (which check failed, and when all pass again).
    public init(checks: [any ReadinessCheck], policies: PolicyStore, transitions: ReadinessTransitions? = nil) {
        self.checks = checks
        self.policies = policies
        self.transitions = transitions
    }

    public func register(on routes: RouteRegistry) {
        // The same answer every time: encoded once (a load balancer polls it).
        let live = Self.liveBody
        routes.read("/health/live") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"], body: ResponseBody(byteBuffer: live))
        }
        routes.read("/health/ready") { _, context in
            try await self.readiness(context)
        }
        routes.read("/healthcheck") { _, context in
            try await self.readiness(context)
        }
    }

    /// Status for everyone; the details only for a caller holding `metrics.read` (a recorded decision).
    func readiness(_ context: GatewayRequestContext) async throws -> EditedResponse<HealthReport> {
        var report = await self.report()
        var showDetails = false
        if let principal = context.principal {
            // The details are shown only under a recorded allow: when the decision cannot be recorded (the
            // database is away) the caller still gets the status, which is what a probe needs.
            showDetails =
                (try? await self.policies.current.authorizer.check(
                    principal, ResourceAction(platform: Self.detailsPermission), on: ResourceRef(type: "health", id: "details", tenant: nil),
                    recordingTo: context.decisions)) ?? false
        }
        if !showDetails { report.details = nil }
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
        self.transitions?.observe(results)
        var details: [String: JSONValue] = [:]
        for (name, result) in results {
            let status: JSONValue = result.ready ? "pass" : "fail"
            details[name] = result.info.isEmpty ? status : .object(result.info.merging(["status": status]) { _, new in new })
        }
        return HealthReport(status: results.values.allSatisfy(\.ready) ? "pass" : "fail", details: details)
    }
}
