public import Storage

/// The scheduler's table: one row per cron flow it heard of.
public enum SchedulerMigrations {
    public static let all: [Migration] = [
        Migration(id: "scheduler.0001") { _ in
            [
                // `state` starting, active or stopped for the round `version`; `due_at` the next execution
                // (milliseconds, only while active), `last_at` the last one that fired.
                """
                CREATE TABLE scheduler_flows (
                    flow_id TEXT PRIMARY KEY, state TEXT NOT NULL, version BIGINT NOT NULL, cron TEXT NOT NULL, timezone TEXT,
                    queue TEXT, tenant TEXT, owners TEXT, due_at BIGINT, last_at BIGINT
                )
                """,
                "CREATE INDEX scheduler_flows_due ON scheduler_flows (state, due_at)",
                // Each running firing loop: since when it has been up without a break, and when it last
                // said so. A due time that some loop was up for is caught up; one that fell while none was
                // up fires once.
                "CREATE TABLE scheduler_runners (runner_id TEXT PRIMARY KEY, since BIGINT NOT NULL, alive_at BIGINT NOT NULL)",
            ]
        }
    ]
}
