public import Storage

/// The orchestrator's tables: what it last did for each flow, and the step queues it provisioned.
public enum OrchestratorMigrations {
    public static let all: [Migration] = [
        Migration(id: "orchestrator.0001") { _ in
            [
                // `state` is started or stopped; `event_at` is the creation time of the lifecycle event that
                // set it, so a late redelivery of an older event is recognised and ignored.
                """
                CREATE TABLE orchestrator_flows (
                    flow_id TEXT PRIMARY KEY, state TEXT NOT NULL, event_at BIGINT NOT NULL, account_id TEXT, client_id TEXT
                )
                """,
                """
                CREATE TABLE orchestrator_queues (
                    queue TEXT PRIMARY KEY, flow_id TEXT NOT NULL, node_id TEXT NOT NULL, created_at BIGINT NOT NULL
                )
                """,
                "CREATE INDEX orchestrator_queues_flow ON orchestrator_queues (flow_id)",
            ]
        }
    ]
}
