//! The first result of every creating mutation, by fan and idempotency key, kept 24 hours.

crate::sql::sql_migration!(up: UP, down: DOWN);

const UP: &str = r#"
CREATE TABLE idempotency_records (
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key          text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    -- Which mutation the key was used for, and a hash of its input: the same key with a
    -- different input is an error, not a replay.
    operation    text NOT NULL,
    request_hash bytea NOT NULL,
    status       text NOT NULL CHECK (status IN ('IN_PROGRESS', 'COMPLETED')),
    response     jsonb,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    PRIMARY KEY (user_id, key),
    CHECK ((status = 'COMPLETED') = (response IS NOT NULL))
);
CREATE INDEX idempotency_records_by_expiry ON idempotency_records (expires_at);
"#;

const DOWN: &str = r#"
DROP TABLE idempotency_records;
"#;
