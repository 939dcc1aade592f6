public import Storage

/// The tables of the identity module.
public enum IAMMigrations {
    public static let all: [Migration] = [
        Migration(id: "iam.0001") { dialect in
            [
                """
                CREATE TABLE iam_tenants (
                    id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, status TEXT NOT NULL,
                    created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL
                )
                """,
                """
                CREATE TABLE iam_accounts (
                    id TEXT PRIMARY KEY, username TEXT NOT NULL UNIQUE, firstname TEXT, lastname TEXT, tenant_id TEXT,
                    status TEXT NOT NULL, type TEXT NOT NULL, permissions TEXT NOT NULL, password_hash TEXT,
                    created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL
                )
                """,
                "CREATE INDEX iam_accounts_tenant ON iam_accounts (tenant_id)",
                """
                CREATE TABLE iam_roles (
                    id TEXT PRIMARY KEY, name TEXT NOT NULL, tenant_id TEXT, description TEXT NOT NULL, permissions TEXT NOT NULL,
                    built_in BOOLEAN NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL
                )
                """,
                "CREATE UNIQUE INDEX iam_roles_name ON iam_roles (name, COALESCE(tenant_id, ''))",
                "CREATE TABLE iam_account_roles (account_id TEXT NOT NULL, role_id TEXT NOT NULL, PRIMARY KEY (account_id, role_id))",
                "CREATE INDEX iam_account_roles_role ON iam_account_roles (role_id)",
                """
                CREATE TABLE iam_tokens (
                    id TEXT PRIMARY KEY, account_id TEXT NOT NULL, kind TEXT NOT NULL, token_hash TEXT UNIQUE,
                    description TEXT, scope TEXT, act TEXT, family_id TEXT,
                    created_at BIGINT NOT NULL, expires_at BIGINT, revoked_at BIGINT
                )
                """,
                "CREATE INDEX iam_tokens_account ON iam_tokens (account_id)",
                "CREATE INDEX iam_tokens_family ON iam_tokens (family_id)",
                """
                CREATE TABLE iam_signing_keys (
                    kid TEXT PRIMARY KEY, algorithm TEXT NOT NULL, sealed_private_key \(dialect.blobType) NOT NULL,
                    public_x TEXT NOT NULL, public_y TEXT NOT NULL,
                    created_at BIGINT NOT NULL, activates_at BIGINT NOT NULL, retired_at BIGINT, expires_at BIGINT
                )
                """,
                "CREATE TABLE iam_login_failures (subject TEXT NOT NULL, failed_at BIGINT NOT NULL)",
                "CREATE INDEX iam_login_failures_subject ON iam_login_failures (subject, failed_at)",
                "CREATE TABLE iam_lockouts (subject TEXT PRIMARY KEY, locked_until BIGINT NOT NULL)",
                """
                CREATE TABLE iam_service_clients (
                    client_id TEXT PRIMARY KEY, account_id TEXT NOT NULL UNIQUE, secret_hash TEXT NOT NULL,
                    created_at BIGINT NOT NULL, rotated_at BIGINT NOT NULL
                )
                """,
            ]
        },
        Migration(id: "iam.0002") { _ in
            [
                // When the session a token extends ends, and the grant that issued it. Tokens of before got
                // the default limit (12 h) from their creation; persistent ones end when they expire.
                "ALTER TABLE iam_tokens ADD COLUMN session_ends_at BIGINT",
                "ALTER TABLE iam_tokens ADD COLUMN grant_type TEXT",
                "UPDATE iam_tokens SET session_ends_at = created_at + 43200000 WHERE kind IN ('access', 'refresh')",
                "UPDATE iam_tokens SET session_ends_at = expires_at WHERE kind = 'persistent'",
                // One counter per subject (`account:<username>`, `ip:<address>`), reserved before bcrypt runs.
                """
                CREATE TABLE iam_login_attempts (
                    subject TEXT PRIMARY KEY, window_start BIGINT NOT NULL, attempts BIGINT NOT NULL, locked_until BIGINT NOT NULL
                )
                """,
                "CREATE INDEX iam_login_attempts_window ON iam_login_attempts (window_start)",
                "DROP TABLE iam_login_failures",
                "DROP TABLE iam_lockouts",
            ]
        },
        Migration(id: "iam.0003") { _ in
            [
                // The service account of each running flow (its flow token), removed when the flow stops.
                """
                CREATE TABLE iam_flow_accounts (
                    flow_id TEXT PRIMARY KEY, account_id TEXT NOT NULL UNIQUE, created_at BIGINT NOT NULL
                )
                """
            ]
        },
    ]
}
