/// The names of a flow's step queues: one work queue per node, `flow-<flowId>:<nodeId>:messages`
/// (ARCHITECTURE.md §4). The orchestrator provisions them; webhooks and the scheduler fill the first.
public enum FlowQueueNames {
    public static func messages(flowID: String, nodeID: String) -> String {
        "flow-\(flowID):\(nodeID):messages"
    }

    /// Whether `queue` is a flow's step queue, which exists only while its flow runs (``MessageStore/provisionQueues(_:round:on:)``).
    public static func isStepQueue(_ queue: String) -> Bool {
        queue.hasPrefix("flow-") && queue.hasSuffix(":messages")
    }
}
