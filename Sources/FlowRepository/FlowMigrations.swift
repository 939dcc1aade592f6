public import Storage

/// The tables of the flow repository.
public enum FlowMigrations {
    public static let all: [Migration] = [
        Migration(id: "flows.0001") { dialect in
            [
                """
                CREATE TABLE flows (
                    id TEXT PRIMARY KEY, name TEXT, description TEXT, type TEXT, tenant TEXT,
                    status TEXT NOT NULL, status_reason TEXT, started_by TEXT, cron TEXT, cron_timezone TEXT,
                    graph TEXT NOT NULL, webhooks TEXT, hmac_secret \(dialect.blobType), token_client_id TEXT,
                    lifecycle_version BIGINT NOT NULL, search_text TEXT NOT NULL,
                    created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL
                )
                """,
                "CREATE INDEX flows_status ON flows (status)",
                "CREATE INDEX flows_created ON flows (created_at, id)",
                """
                CREATE TABLE flow_owners (
                    flow_id TEXT NOT NULL, owner_id TEXT NOT NULL, owner_type TEXT NOT NULL, PRIMARY KEY (flow_id, owner_id, owner_type)
                )
                """,
                "CREATE INDEX flow_owners_owner ON flow_owners (owner_id)",
            ]
        }
    ]
}
