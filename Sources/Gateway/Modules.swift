import AuditLog
import DeadLetters
import FlowRepository
public import GatewayKit
import IAM
import Orchestrator
import Scheduler
import Webhooks

/// The modules this build composes, in the order their migrations apply and their start-up steps run.
/// Adding a module is one new target and one line here.
public enum Modules {
    public static let all: [any GatewayModule.Type] = [
        IAMModule.self,
        AuditModule.self,
        DeadLetterModule.self,
        FlowModule.self,
        OrchestratorModule.self,
        WebhookModule.self,
        SchedulerModule.self,
    ]
}
