public import Storage

/// The webhooks module's own view of the flows it serves, built from the lifecycle events.
public enum WebhookMigrations {
    public static let all: [Migration] = [
        Migration(id: "webhooks.0001") { dialect in
            [
                // One row per flow the module heard of: `state` starting, active or stopped, for the round
                // `version` (the flow's lifecycle version); what a webhook needs to check and route a call.
                """
                CREATE TABLE webhook_flows (
                    flow_id TEXT PRIMARY KEY, state TEXT NOT NULL, version BIGINT NOT NULL, queue TEXT, scheduled BIGINT NOT NULL,
                    tenant TEXT, owners TEXT, require_auth BIGINT NOT NULL, hmac_header TEXT, hmac_algorithm TEXT,
                    sealed_secret \(dialect.blobType)
                )
                """
            ]
        }
    ]
}
