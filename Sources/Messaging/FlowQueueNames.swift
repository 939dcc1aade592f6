/// The names of a flow's step queues: one work queue per node, `flow-<flowId>:<nodeId>:messages`
/// (ARCHITECTURE.md §4). The orchestrator provisions them; webhooks and the scheduler fill the first.
public enum FlowQueueNames {
    public static func messages(flowID: String, nodeID: String) -> String {
        "flow-\(flowID):\(nodeID):messages"
    }
}
