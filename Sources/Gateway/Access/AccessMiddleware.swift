public import GatewayKit
public import Hummingbird
import Logging
public import Policy
public import PortcullisCore

/// The gateway's one decision point: runs the ``AccessStep``, records its decision durably, and only then
/// lets the request act, or answers the refusal. A refusal is recorded before it is answered. An allowed
/// request's record is held back for a read (committed with its first resource decision, in one commit),
/// and made durable before any handler that is not a read runs (``RouteRegistry``) and before any answer.
///
/// Every request leaves exactly one route-level record, also when it is refused before a rule is matched
/// (a non-canonical path, a bad token) or no rule matches (404 `NO_ROUTE`); the one exception is an
/// allowed request to a probe rule (`record: false`, e.g. `/health/live`), which depends on nothing. When
/// the record cannot be written the request is refused with 503: a handler that acts does not run, and a
/// read does not answer (fail closed). An allowed request carries its recorder (``GatewayRequestContext/decisions``), so the resource
/// checks modules make are recorded with the same request id.
public struct AccessMiddleware: RouterMiddleware {
    public typealias Context = GatewayRequestContext

    let step: AccessStep
    let policies: PolicyStore
    let journal: DecisionJournal
    let clock: WallClock

    public init(step: AccessStep, policies: PolicyStore, journal: DecisionJournal, clock: WallClock) {
        self.step = step
        self.policies = policies
        self.journal = journal
        self.clock = clock
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let outcome = await self.step.evaluate(request, policies: self.policies.current, logger: context.logger)
        let rule = outcome.decision.rule ?? "none"
        do {
            let response = try await self.serve(outcome, request, context: context, next: next)
            GatewayMetrics.request(rule: rule, status: Int(response.status.code), since: start)
            return response
        } catch {
            GatewayMetrics.request(rule: rule, status: ErrorResponse.apiError(for: error, logger: Self.quiet).status, since: start)
            throw error
        }
    }

    /// For reading an error's status without logging it twice (the error middleware logs what it answers).
    static let quiet = Logger(label: "portcullis.metrics", factory: { _ in SwiftLogNoOpLogHandler() })

    private func serve(_ outcome: AccessOutcome, _ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response
    {
        var context = context
        switch outcome {
        case .refuse(let decision, let refusal, let principal):
            context.principal = principal
            let recordID = try await self.record(decision, request: request, context: context)
            throw refusal.explained(rule: decision.rule, decisionID: recordID, requestID: context.requestID.value)
        case .allow(let decision, let principal, let recorded):
            context.principal = principal
            let recorder = self.recorder(request, context)
            context.decisions = recorder
            guard recorded else { return try await next(request, context) }
            // Held back until the handler's first resource decision, or until a handler that is not a read
            // starts (``RouteRegistry`` settles first), and at the latest until the answer: either way it is
            // durable before anything acts or answers.
            recorder.holdRoute(decision)
            let response: Response
            do {
                response = try await next(request, context)
            } catch {
                try await self.settle(recorder, context: context)
                throw Self.explained(error, by: recorder, context: context)
            }
            try await self.settle(recorder, context: context)
            return response
        }
    }

    /// A 403 that a module answered after a recorded resource-level deny names that record and the request
    /// (`decisionId`, `requestId`), as a route refusal does. A 404 stays as it is: an invisible resource
    /// must look like a missing one.
    static func explained(_ error: any Error, by recorder: DecisionRecorder, context: Context) -> any Error {
        guard let decisionID = recorder.lastDenyID else { return error }
        let apiError = ErrorResponse.apiError(for: error, logger: Self.quiet)
        guard apiError.status == 403 else { return error }
        return apiError.recorded(decisionID: decisionID, requestID: context.requestID.value)
    }

    /// Settles what the recorder held back, or refuses the request with 503 `AUDIT_UNAVAILABLE`: an answer
    /// never leaves unrecorded.
    private func settle(_ recorder: DecisionRecorder, context: Context) async throws {
        do {
            try await recorder.settle()
        } catch {
            context.logger.error("decision not recorded; refusing the request", metadata: ["error": "\(error)"])
            throw DecisionRecorder.unavailable
        }
    }

    private func recorder(_ request: Request, _ context: Context) -> DecisionRecorder {
        DecisionRecorder(journal: self.journal, clock: self.clock, request: request, context: context)
    }

    /// Records the route decision and returns its record's id, or refuses the request with 503 `AUDIT_UNAVAILABLE`.
    private func record(_ decision: Decision, request: Request, context: Context) async throws -> String {
        do {
            return try await self.recorder(request, context).recordRoute(decision)
        } catch {
            context.logger.error("decision not recorded; refusing the request", metadata: ["error": "\(error)"])
            throw DecisionRecorder.unavailable
        }
    }
}
