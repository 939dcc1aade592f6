public import Storage

/// The tables of the bus and the work queues.
public enum MessagingMigrations {
    public static let all: [Migration] = [
        Migration(id: "messaging.0001") { dialect in
            [
                """
                CREATE TABLE bus_subscriptions (
                    group_name TEXT NOT NULL,
                    pattern TEXT NOT NULL,
                    created_at BIGINT NOT NULL,
                    PRIMARY KEY (group_name, pattern)
                )
                """,
                """
                CREATE TABLE bus_messages (
                    seq \(dialect.autoIncrementPrimaryKey),
                    queue TEXT NOT NULL,
                    message_id TEXT NOT NULL,
                    body TEXT NOT NULL,
                    attempts BIGINT NOT NULL DEFAULT 0,
                    enqueued_at BIGINT NOT NULL,
                    visible_at BIGINT NOT NULL,
                    lease_id TEXT,
                    last_error TEXT,
                    UNIQUE (queue, message_id)
                )
                """,
                "CREATE INDEX bus_messages_ready ON bus_messages (queue, visible_at, seq)",
                """
                CREATE TABLE bus_dead_letters (
                    seq \(dialect.autoIncrementPrimaryKey),
                    queue TEXT NOT NULL,
                    message_id TEXT NOT NULL,
                    body TEXT NOT NULL,
                    attempts BIGINT NOT NULL,
                    enqueued_at BIGINT NOT NULL,
                    failed_at BIGINT NOT NULL,
                    last_error TEXT NOT NULL
                )
                """,
                "CREATE INDEX bus_dead_letters_queue ON bus_dead_letters (queue, seq)",
                """
                CREATE TABLE bus_processed (
                    group_name TEXT NOT NULL,
                    event_id TEXT NOT NULL,
                    processed_at BIGINT NOT NULL,
                    PRIMARY KEY (group_name, event_id)
                )
                """,
            ]
        },
        Migration(id: "messaging.0002") { dialect in
            [
                // What happened to the messages of flow step queues, for `GET /flows/{id}/steps/{stepId}/logs`:
                // ids and attempts, never bodies.
                """
                CREATE TABLE bus_queue_journal (
                    seq \(dialect.autoIncrementPrimaryKey),
                    queue TEXT NOT NULL,
                    event TEXT NOT NULL,
                    message_id TEXT NOT NULL,
                    attempts BIGINT NOT NULL,
                    at BIGINT NOT NULL
                )
                """,
                "CREATE INDEX bus_queue_journal_queue ON bus_queue_journal (queue, seq)",
                "CREATE INDEX bus_queue_journal_at ON bus_queue_journal (at)",
                // The flow step queues that exist: provisioned when a flow starts, removed when it stops. An
                // enqueue that needs one takes its row (shared); the removal takes it exclusively, so the two
                // never cross.
                "CREATE TABLE bus_queues (queue TEXT PRIMARY KEY, created_at BIGINT NOT NULL)",
            ]
        },
        // A flow's step queues keep their names from run to run: each provisioning says for which run (the
        // flow's round), and an enqueue names the run it was checked against, so that nothing checked against
        // one run lands in the next.
        Migration(id: "messaging.0003", ["ALTER TABLE bus_queues ADD COLUMN round BIGINT NOT NULL DEFAULT -1"]),
        // A lease first looks for messages that have used up their deliveries (`attempts >= max`): without
        // this index that read walked every visible message of the queue, so each lease cost as much as the
        // queue was deep. With it, the look is a range on (queue, attempts), empty in the usual case.
        Migration(id: "messaging.0004", ["CREATE INDEX bus_messages_attempts ON bus_messages (queue, attempts, visible_at)"]),
    ]
}
