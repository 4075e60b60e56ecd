//! Provider events already handled by the payment webhook: each is applied once.

crate::sql::sql_migration!(up: UP, down: DOWN);

const UP: &str = r#"
CREATE TABLE payment_webhook_events (
    -- The provider's own event id.
    id          text PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 200),
    event_type  text NOT NULL,
    booking_id  uuid REFERENCES bookings (id),
    received_at timestamptz NOT NULL DEFAULT now()
);
"#;

const DOWN: &str = r#"
DROP TABLE payment_webhook_events;
"#;
