//! The inventory's SQL, written once with the entities' status spellings filled in.
//!
//! Statuses are inlined as literals ([`crate::db::literal`]) rather than bound as parameters,
//! so plans can use the partial indexes.

use std::sync::LazyLock;

use entities::{
    booking::BookingStatus, hold::HoldStatus, payment::PaymentStatus, seat::SeatStatus,
};

use crate::db::literal;
pub use crate::db::spelled;

/// A lazily written statement.
type Sql = LazyLock<String>;

/// $1 hold, $2 event, $3 seat ids.
pub static HOLD_SEATS: Sql = LazyLock::new(|| {
    format!(
        "UPDATE seats SET status = {held}, hold_id = $1, \
             held_until = (SELECT held_until FROM holds WHERE id = $1), \
             version = version + 1, updated_at = now() \
         WHERE event_id = $2 AND id = ANY($3) \
           AND (status = {available} OR (status = {held} AND held_until <= now())) \
         RETURNING id, version",
        held = literal(&SeatStatus::Held),
        available = literal(&SeatStatus::Available),
    )
});

/// $1 event, $2 seat ids: each seat and whether it could be held now.
pub static SEATS_FREE: Sql = LazyLock::new(|| {
    format!(
        "SELECT id, (status = {available} OR (status = {held} AND held_until <= now())) AS free \
         FROM seats WHERE event_id = $1 AND id = ANY($2)",
        held = literal(&SeatStatus::Held),
        available = literal(&SeatStatus::Available),
    )
});

/// $1 hold.
pub static FREE_HOLD_SEATS: Sql = LazyLock::new(|| {
    format!(
        "UPDATE seats SET status = {available}, hold_id = NULL, held_until = NULL, \
         version = version + 1, updated_at = now() WHERE hold_id = $1 RETURNING id, version",
        available = literal(&SeatStatus::Available),
    )
});

/// $1 hold, $2 its new status.
pub static END_HOLD: Sql = LazyLock::new(|| {
    format!(
        "UPDATE holds SET status = $2, ended_at = now() WHERE id = $1 AND status = {active}",
        active = literal(&HoldStatus::Active),
    )
});

/// $1 hold, $2 the new status of its unpaid booking.
pub static END_UNPAID_BOOKING: Sql = LazyLock::new(|| {
    format!(
        "UPDATE bookings SET status = $2, cancelled_at = now(), updated_at = now() \
         WHERE hold_id = $1 AND status IN ({pending}, {failed})",
        pending = literal(&BookingStatus::PendingPayment),
        failed = literal(&BookingStatus::PaymentFailed),
    )
});

/// $1 hold.
pub static FOLLOW_HOLD: Sql = LazyLock::new(|| {
    "UPDATE seats SET held_until = (SELECT held_until FROM holds WHERE id = $1), updated_at = now() \
     WHERE hold_id = $1"
        .to_owned()
});

/// $1 booking.
pub static CONFIRM_LINES: Sql =
    LazyLock::new(|| "UPDATE booking_seats SET confirmed = true WHERE booking_id = $1".to_owned());

/// $1 booking, $2 its hold.
pub static BOOK_SEATS: Sql = LazyLock::new(|| {
    format!(
        "UPDATE seats SET status = {booked}, booking_id = $1, hold_id = NULL, held_until = NULL, \
             version = version + 1, updated_at = now() \
         WHERE hold_id = $2 AND status = {held} \
           AND id IN (SELECT seat_id FROM booking_seats WHERE booking_id = $1) \
         RETURNING id, version",
        booked = literal(&SeatStatus::Booked),
        held = literal(&SeatStatus::Held),
    )
});

/// $1 hold.
pub static CONVERT_HOLD: Sql = LazyLock::new(|| {
    format!(
        "UPDATE holds SET status = {converted}, ended_at = now() WHERE id = $1",
        converted = literal(&HoldStatus::Converted),
    )
});

/// $1 booking.
pub static CONFIRM_BOOKING: Sql = LazyLock::new(|| {
    format!(
        "UPDATE bookings SET status = {confirmed}, confirmed_at = now(), updated_at = now() WHERE id = $1",
        confirmed = literal(&BookingStatus::Confirmed),
    )
});

/// $1 booking.
pub static FREE_BOOKED_SEATS: Sql = LazyLock::new(|| {
    format!(
        "UPDATE seats SET status = {available}, booking_id = NULL, version = version + 1, updated_at = now() \
         WHERE booking_id = $1 RETURNING id, version",
        available = literal(&SeatStatus::Available),
    )
});

/// $1 booking.
pub static UNCONFIRM_LINES: Sql =
    LazyLock::new(|| "UPDATE booking_seats SET confirmed = false WHERE booking_id = $1".to_owned());

/// $1 booking.
pub static REFUND_PAYMENT: Sql = LazyLock::new(|| {
    format!(
        "UPDATE payments SET status = {refunded}, updated_at = now() WHERE booking_id = $1 AND status = {succeeded}",
        refunded = literal(&PaymentStatus::Refunded),
        succeeded = literal(&PaymentStatus::Succeeded),
    )
});

/// $1 booking.
pub static REFUND_BOOKING: Sql = LazyLock::new(|| {
    format!(
        "UPDATE bookings SET status = {refunded}, cancelled_at = now(), updated_at = now() WHERE id = $1",
        refunded = literal(&BookingStatus::Refunded),
    )
});

/// $1 event, $2 now: one character per seat in id order (`B` booked, `H` held, `A` free).
pub static SEAT_STATES: Sql = LazyLock::new(|| {
    format!(
        "SELECT coalesce(string_agg(CASE \
             WHEN status = {booked} THEN 'B' \
             WHEN status = {held} AND held_until > $2 THEN 'H' \
             ELSE 'A' END, '' ORDER BY id), '') AS status \
         FROM seats WHERE event_id = $1",
        booked = literal(&SeatStatus::Booked),
        held = literal(&SeatStatus::Held),
    )
});

/// $1 event, $2 now: seats per category, and how many are held and booked.
pub static SEAT_COUNTS: Sql = LazyLock::new(|| {
    format!(
        "SELECT category_id, \
            count(*) AS total, \
            count(*) FILTER (WHERE status = {held} AND held_until > $2) AS held, \
            count(*) FILTER (WHERE status = {booked}) AS booked \
         FROM seats WHERE event_id = $1 GROUP BY category_id",
        booked = literal(&SeatStatus::Booked),
        held = literal(&SeatStatus::Held),
    )
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_spelled_as_the_database_stores_them() {
        assert!(HOLD_SEATS.contains("status = 'HELD'"));
        assert!(HOLD_SEATS.contains("status = 'AVAILABLE'"));
        assert!(END_UNPAID_BOOKING.contains("IN ('PENDING_PAYMENT', 'PAYMENT_FAILED')"));
        assert!(REFUND_PAYMENT.contains("'REFUNDED'") && REFUND_PAYMENT.contains("'SUCCEEDED'"));
        assert_eq!(spelled(&HoldStatus::Expired), "EXPIRED");
        assert_eq!(spelled(&BookingStatus::Cancelled), "CANCELLED");
    }
}
