//! Reading what a test did: a response's error code, numbers and invariants from Postgres.

use sea_orm::{ConnectionTrait as _, DatabaseConnection, Statement};
use serde_json::Value;

/// The `extensions.code` of a response's first error, if any.
pub fn first_error_code(body: &Value) -> Option<&str> {
    body["errors"][0]["extensions"]["code"].as_str()
}

/// One number from Postgres (a count, a sum).
pub async fn scalar(db: &DatabaseConnection, sql: &str) -> i64 {
    db.query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .expect("query")
        .expect("row")
        .try_get_by_index::<i64>(0)
        .expect("number")
}

/// Checks the sale's invariants straight from Postgres; panics with `step` on a breach. Shared
/// by the API's sale tests and the gateway's fuzz test.
pub async fn assert_invariants(db: &DatabaseConnection, step: &str) {
    let booked_without_one_confirmed = scalar(
        db,
        "SELECT count(*) FROM seats s WHERE s.status = 'BOOKED' AND 1 <> (SELECT count(*) FROM booking_seats bs \
         JOIN bookings b ON b.id = bs.booking_id WHERE bs.seat_id = s.id AND bs.confirmed AND b.status = 'CONFIRMED')",
    )
    .await;
    let held_without_live_hold = scalar(
        db,
        "SELECT count(*) FROM seats s WHERE s.status = 'HELD' AND NOT EXISTS \
         (SELECT 1 FROM holds h WHERE h.id = s.hold_id AND h.status = 'ACTIVE')",
    )
    .await;
    let active_holds_short_of_seats = scalar(
        db,
        "SELECT count(*) FROM holds h WHERE h.status = 'ACTIVE' AND h.seat_count <> \
         (SELECT count(*) FROM seats s WHERE s.hold_id = h.id)",
    )
    .await;
    let booked = scalar(db, "SELECT count(*) FROM seats WHERE status = 'BOOKED'").await;
    let confirmed_lines = scalar(
        db,
        "SELECT count(*) FROM booking_seats bs JOIN bookings b ON b.id = bs.booking_id \
         WHERE bs.confirmed AND b.status = 'CONFIRMED'",
    )
    .await;
    let captured = scalar(
        db,
        "SELECT coalesce(sum(amount_minor), 0)::bigint FROM payments WHERE status = 'SUCCEEDED'",
    )
    .await;
    let sold = scalar(
        db,
        "SELECT coalesce(sum(amount_minor), 0)::bigint FROM bookings WHERE status = 'CONFIRMED'",
    )
    .await;
    assert_eq!(
        booked_without_one_confirmed, 0,
        "{step}: a BOOKED seat without exactly one confirmed booking"
    );
    assert_eq!(
        held_without_live_hold, 0,
        "{step}: a HELD seat without a live hold"
    );
    assert_eq!(
        active_holds_short_of_seats, 0,
        "{step}: an active hold not holding exactly its seats"
    );
    assert_eq!(
        booked, confirmed_lines,
        "{step}: seats BOOKED differ from seats in confirmed bookings"
    );
    assert_eq!(
        captured, sold,
        "{step}: money captured differs from confirmed bookings"
    );
}
