//! Lottery commitments: a secret seed per event, drawn before the presale closes, whose hash
//! the public schema shows so that the later reveal can be checked. Draws record the
//! algorithm that ordered them and the drawn order of the fans' pseudonymous entrant ids.

crate::sql::sql_migration!(up: UP, down: DOWN);

const UP: &str = r#"
CREATE TABLE lottery_commitments (
    event_id      bigint PRIMARY KEY REFERENCES events (id) ON DELETE CASCADE,
    -- Secret until the draw copies it into lottery_draws.
    seed          text NOT NULL CHECK (seed ~ '^[0-9a-f]{64}$'),
    -- hex(SHA-256(seed)), public from the moment it is written.
    commitment    text NOT NULL CHECK (commitment ~ '^[0-9a-f]{64}$'),
    committed_at  timestamptz NOT NULL DEFAULT now()
);
-- Draws made before this migration shuffled with ChaCha20 and recorded no entrant ids.
ALTER TABLE lottery_draws
    ADD COLUMN algorithm text NOT NULL DEFAULT 'chacha20-shuffle-v0',
    ADD COLUMN entrants text[];
"#;

const DOWN: &str = r#"
ALTER TABLE lottery_draws DROP COLUMN entrants, DROP COLUMN algorithm;
DROP TABLE lottery_commitments;
"#;
