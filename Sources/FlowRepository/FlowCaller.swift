public import Policy
public import PortcullisCore

/// Who asks, where their resource decisions are recorded, and under which request id: what every flow
/// operation needs of the request.
public struct FlowCaller: Sendable {
    public let principal: Principal
    public let decisions: any ResourceDecisionRecorder
    public let requestID: String?

    public init(principal: Principal, decisions: any ResourceDecisionRecorder, requestID: String?) {
        self.principal = principal
        self.decisions = decisions
        self.requestID = requestID
    }

    /// The audit actor of the caller.
    var actor: AuditActor { AuditActor(self.principal) }
}

/// Flow ids are chosen by the repository (24 hex digits). Only an id of 1 to 64 hex digits is looked up;
/// anything else is treated as an unknown id (404) without reaching the database.
public enum FlowID {
    public static func make() -> String {
        Hex.encode((0..<12).map { _ in UInt8.random(in: .min ... .max) })
    }

    public static func isWellFormed(_ id: String) -> Bool {
        (1...64).contains(id.utf8.count) && id.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) || ($0 >= 65 && $0 <= 70) }
    }
}
