public import Storage

/// The tables of the audit log: the chain of records and the checkpoint that anchors it after pruning.
public enum AuditMigrations {
    public static let all: [Migration] = [
        Migration(
            id: "audit.0001",
            [
                """
                CREATE TABLE audit_records (
                    seq BIGINT PRIMARY KEY, id TEXT NOT NULL UNIQUE, created_ms BIGINT NOT NULL, name TEXT NOT NULL,
                    service_name TEXT NOT NULL, request_id TEXT, outcome TEXT, actor_sub TEXT, tenant TEXT,
                    body TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL
                )
                """,
                "CREATE INDEX audit_records_request ON audit_records (request_id)",
                "CREATE INDEX audit_records_created ON audit_records (created_ms)",
                "CREATE INDEX audit_records_tenant ON audit_records (tenant, seq)",
                "CREATE INDEX audit_records_actor ON audit_records (actor_sub, seq)",
                """
                CREATE TABLE audit_checkpoint (
                    id INTEGER PRIMARY KEY, through_seq BIGINT NOT NULL, hash TEXT NOT NULL, pruned_at BIGINT NOT NULL, mac TEXT NOT NULL
                )
                """,
            ]
        ),
        // Pushed records (`POST /logs`) are marked, and filters tell them apart.
        Migration(id: "audit.0002", ["ALTER TABLE audit_records ADD COLUMN origin TEXT"]),
        // The permission sets decisions were made with, once each, under the digest their records name
        // (`actor.permissions`): what `policy diff` replays them with. The digest covers the text, so a row
        // that was changed no longer matches its records.
        Migration(
            id: "audit.0003",
            ["CREATE TABLE audit_permission_sets (digest TEXT PRIMARY KEY, permissions TEXT NOT NULL, created_ms BIGINT NOT NULL)"]),
    ]
}
