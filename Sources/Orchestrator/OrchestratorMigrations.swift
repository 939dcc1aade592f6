public import Storage

/// The orchestrator's tables: what it last did for each flow, and the step queues it provisioned.
public enum OrchestratorMigrations {
    public static let all: [Migration] = [
        Migration(id: "orchestrator.0001") { _ in
            [
                // `state` is new, started, failed or stopped; `version` is the round (the flow's lifecycle
                // version) of the event that set it, so a late redelivery of an older round is ignored. The row
                // is also each flow's lock: every event of a flow is handled holding it.
                """
                CREATE TABLE orchestrator_flows (
                    flow_id TEXT PRIMARY KEY, state TEXT NOT NULL, version BIGINT NOT NULL, account_id TEXT, client_id TEXT
                )
                """,
                """
                CREATE TABLE orchestrator_queues (
                    queue TEXT PRIMARY KEY, flow_id TEXT NOT NULL, node_id TEXT NOT NULL, created_at BIGINT NOT NULL
                )
                """,
                "CREATE INDEX orchestrator_queues_flow ON orchestrator_queues (flow_id)",
            ]
        },
        Migration(id: "orchestrator.0002") { _ in
            [
                // What the queue API needs of a running flow, from its flow.starting: who owns it (owners
                // change only while a flow is inactive) and where each node's output goes.
                "ALTER TABLE orchestrator_flows ADD COLUMN owners TEXT",
                "ALTER TABLE orchestrator_flows ADD COLUMN tenant TEXT",
                """
                CREATE TABLE orchestrator_edges (
                    flow_id TEXT NOT NULL, source TEXT NOT NULL, target TEXT NOT NULL, PRIMARY KEY (flow_id, source, target)
                )
                """,
            ]
        },
        // messaging.0003 gave queues a run (round) and every existing row round -1: the step queues of flows
        // running across the upgrade get their flow's round, or no enqueue would reach them until a restart.
        Migration(
            id: "orchestrator.0003",
            [
                """
                UPDATE bus_queues SET round = (
                    SELECT f.version FROM orchestrator_queues q JOIN orchestrator_flows f ON f.flow_id = q.flow_id
                    WHERE q.queue = bus_queues.queue AND f.state = 'started'
                )
                WHERE round = -1 AND EXISTS (
                    SELECT 1 FROM orchestrator_queues q JOIN orchestrator_flows f ON f.flow_id = q.flow_id
                    WHERE q.queue = bus_queues.queue AND f.state = 'started'
                )
                """
            ]),
    ]
}
