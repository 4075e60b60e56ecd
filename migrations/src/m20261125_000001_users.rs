//! Fans and admins. Emails are unique whatever their case.

crate::sql::sql_migration!(up: UP, down: DOWN);

const UP: &str = r#"
CREATE TABLE users (
    id            uuid PRIMARY KEY,
    email         text NOT NULL
                  CHECK (length(email) BETWEEN 3 AND 320 AND position('@' IN email) > 1),
    password_hash text NOT NULL,
    display_name  text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 100),
    role          text NOT NULL DEFAULT 'FAN' CHECK (role IN ('FAN', 'ADMIN')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
-- Case-insensitive uniqueness lives in the index, so two sign-ups racing with
-- "Fan@x.com" and "fan@x.com" cannot both succeed.
CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email));
"#;

const DOWN: &str = r#"
DROP TABLE users;
"#;
