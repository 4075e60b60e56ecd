//! Payments still PENDING, by age: the expiry worker looks for abandoned ones every few
//! seconds, and only this small set should be read to find them, however many payments
//! the table holds.

crate::sql::sql_migration!(up: UP, down: DOWN);

const UP: &str = r#"
CREATE INDEX payments_pending_by_age ON payments (created_at) WHERE status = 'PENDING';
"#;

const DOWN: &str = r#"
DROP INDEX payments_pending_by_age;
"#;
