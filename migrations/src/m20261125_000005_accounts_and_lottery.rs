//! Rotating refresh tokens (stored hashed, grouped in families so reuse revokes them all),
//! and the audit record of each presale lottery draw.

crate::sql::sql_migration!(up: UP, down: DOWN);

const UP: &str = r#"
CREATE TABLE refresh_tokens (
    id          uuid PRIMARY KEY,
    -- Every token rotated from one sign-in shares a family; reuse of a spent token revokes it.
    family_id   uuid NOT NULL,
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- SHA-256 of the token: the token itself is never stored.
    token_hash  bytea NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    revoked_at  timestamptz
);
CREATE INDEX refresh_tokens_by_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_by_user ON refresh_tokens (user_id);

CREATE TABLE lottery_draws (
    event_id   bigint PRIMARY KEY REFERENCES events (id) ON DELETE CASCADE,
    -- The ChaCha20 seed (hex): with `fans` it recomputes the draw exactly.
    seed       text NOT NULL CHECK (seed ~ '^[0-9a-f]{64}$'),
    -- Presale fans in canonical (sorted) order, the input of the shuffle.
    fans       text[] NOT NULL,
    fan_count  integer NOT NULL CHECK (fan_count >= 0),
    drawn_at   timestamptz NOT NULL DEFAULT now()
);
"#;

const DOWN: &str = r#"
DROP TABLE lottery_draws;
DROP TABLE refresh_tokens;
"#;
