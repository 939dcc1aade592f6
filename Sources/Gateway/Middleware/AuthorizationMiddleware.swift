public import Hummingbird
import Logging
public import Policy
import PortcullisCore

/// The gateway's one decision point: matches the first rule of `policies/routes.yaml`, decides, records
/// the decision durably, and only then lets the request through to its handler.
///
/// Every request leaves exactly one route-level record, also when it is refused before a rule is matched
/// (a non-canonical path, a bad token) or no rule matches (404 `NO_ROUTE`); the one exception is an
/// allowed request to a probe rule (`record: false`, e.g. `/health/live`), which depends on nothing. When the record cannot be
/// written the request is refused with 503 and its handler does not run (fail closed). The context then
/// carries the request's recorder (``GatewayRequestContext/decisions``), so the resource checks modules
/// make are recorded with the same request id.
public struct AuthorizationMiddleware: RouterMiddleware {
    public typealias Context = GatewayRequestContext

    let policies: PolicyStore
    let journal: DecisionJournal

    public init(policies: PolicyStore, journal: DecisionJournal) {
        self.policies = policies
        self.journal = journal
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let policies = self.policies.current
        let (decision, refusal, unrecorded) = Self.decide(request, context: context, policies: policies)
        let recorder = DecisionRecorder(journal: self.journal, request: request, context: context)
        // An allowed probe (`record: false`) is served unrecorded; every other decision is recorded first.
        if !unrecorded {
            do {
                try await recorder.recordRoute(decision)
            } catch {
                context.logger.error("decision not recorded; refusing the request", metadata: ["error": "\(error)"])
                throw DecisionRecorder.unavailable
            }
        }
        if let refusal {
            throw refusal
        }
        var context = context
        context.decisions = recorder
        return try await next(request, context)
    }

    /// The route-level decision, the error to answer when it is not an allow, and whether it is an allowed
    /// probe that goes unrecorded (its rule says `record: false`).
    static func decide(_ request: Request, context: Context, policies: PolicySet) -> (Decision, APIError?, unrecorded: Bool) {
        let revision = policies.revision
        if let problem = context.pathProblem {
            return (Decision(outcome: .deny, reason: problem.reason, policyRevision: revision), problem, false)
        }
        let method = request.method.rawValue
        let path = request.uri.path
        let rule = policies.routes.match(method: method, path: path)
        if let failure = context.authenticationFailure {
            return (Decision(outcome: .deny, reason: failure.reason, rule: rule?.id, policyRevision: revision), failure, false)
        }
        let decision = policies.authorizer.decide(context.principal, rule: rule)
        if decision.allowed {
            return (decision, nil, rule?.recorded == false)
        }
        switch decision.reason {
        case "NO_ROUTE":
            return (decision, APIError.notFound("No route matches \(method) \(path).", reason: "NO_ROUTE"), false)
        case "UNAUTHENTICATED":
            if let problem = context.credentialProblem {
                return (Decision(outcome: .deny, reason: problem.reason, rule: rule?.id, policyRevision: revision), problem, false)
            }
            return (decision, APIError.unauthorized("UNAUTHENTICATED", "Authentication is required."), false)
        default:
            let missing = policies.authorizer.missing(decision, for: context.principal)
            return (decision, APIError.forbidden("MISSING_PERMISSION", "Missing permission \(missing.joined(separator: ", "))"), false)
        }
    }
}
