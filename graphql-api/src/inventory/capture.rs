//! Capturing an approved payment in one statement (one round trip): the booking's seats
//! turn BOOKED, its lines confirmed, its hold CONVERTED, the booking CONFIRMED, the payment
//! SUCCEEDED and its idempotency key COMPLETED, together, or nothing changes.
//!
//! It locks the payment and booking, then the hold, then the hold's seats, and decides on
//! their newest versions: the payment still PENDING, the booking unpaid, the hold live and
//! every seat of the booking still held by it. With the seats locked no other fan can take
//! them before the commit, so the decision holds. A refusal changes nothing; the caller
//! then settles through [`crate::payments::settle`], which voids the authorization.

use std::sync::LazyLock;

use entities::{
    booking, booking::BookingStatus, hold::HoldStatus, payment, payment::PaymentStatus, seat,
    seat::SeatStatus,
};
use serde_json::Value;
use uuid::Uuid;

use super::{Changes, orders::one_row, rows};
use crate::{
    db::{is_deadlock, literal},
    error::ApiResult,
    state::AppState,
};

/// $1 payment, $2 provider reference, $3 idempotency key (NULL: none), $4 fan, $5 the
/// key's result.
static CAPTURE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH p AS MATERIALIZED ( \
             SELECT p.status AS payment_status, b.id AS booking_id, b.status AS booking_status, b.hold_id \
             FROM payments p JOIN bookings b ON b.id = p.booking_id WHERE p.id = $1 FOR UPDATE OF p, b \
         ), hl AS MATERIALIZED ( \
             SELECT id, status = {active} AND held_until > now() AS live FROM holds \
             WHERE id = (SELECT hold_id FROM p) FOR UPDATE \
         ), held AS MATERIALIZED ( \
             SELECT id FROM seats WHERE hold_id = (SELECT id FROM hl) AND status = {held} \
             ORDER BY id FOR UPDATE \
         ), lines AS MATERIALIZED ( \
             SELECT seat_id FROM booking_seats WHERE booking_id = (SELECT booking_id FROM p) \
         ), decision AS MATERIALIZED ( \
             SELECT coalesce((SELECT payment_status = {pending_payment} \
                                 AND booking_status IN ({pending}, {failed}) FROM p), false) \
                AND coalesce((SELECT live FROM hl), false) \
                AND (SELECT count(*) FROM held) = (SELECT count(*) FROM lines) \
                AND NOT EXISTS (SELECT seat_id FROM lines EXCEPT SELECT id FROM held) AS go \
         ), confirmed_lines AS ( \
             UPDATE booking_seats SET confirmed = true \
             WHERE booking_id = (SELECT booking_id FROM p) AND (SELECT go FROM decision) RETURNING 1 \
         ), booked AS ( \
             UPDATE seats s SET status = {booked}, booking_id = (SELECT booking_id FROM p), \
                 hold_id = NULL, held_until = NULL, version = s.version + 1, updated_at = now() \
             WHERE s.id IN (SELECT id FROM held) AND (SELECT go FROM decision) RETURNING s.* \
         ), converted AS ( \
             UPDATE holds SET status = {converted}, ended_at = now() \
             WHERE id = (SELECT id FROM hl) AND (SELECT go FROM decision) RETURNING 1 \
         ), confirmed AS ( \
             UPDATE bookings SET status = {confirmed}, confirmed_at = now(), updated_at = now() \
             WHERE id = (SELECT booking_id FROM p) AND (SELECT go FROM decision) RETURNING * \
         ), captured AS ( \
             UPDATE payments SET status = {succeeded}, provider_ref = $2, updated_at = now() \
             WHERE id = $1 AND (SELECT go FROM decision) RETURNING * \
         ), completed AS ( \
             UPDATE idempotency_records SET status = 'COMPLETED', response = $5 \
             WHERE $3::text IS NOT NULL AND user_id = $4 AND key = $3 AND (SELECT go FROM decision) \
             RETURNING 1 \
         ) \
         SELECT (SELECT go FROM decision) AS go, \
                (SELECT count(*) FROM confirmed_lines) + (SELECT count(*) FROM converted) \
                    + (SELECT count(*) FROM completed) AS touched, \
                (SELECT to_jsonb(confirmed) FROM confirmed) AS booking, \
                (SELECT jsonb_agg(to_jsonb(booked)) FROM booked) AS seats, \
                (SELECT jsonb_agg(x) FROM ( \
                    SELECT to_jsonb(c) AS x FROM captured c \
                    UNION ALL SELECT to_jsonb(o) FROM payments o \
                    WHERE o.booking_id = (SELECT booking_id FROM p) AND o.id <> $1) q) AS payments",
        active = literal(&HoldStatus::Active),
        converted = literal(&HoldStatus::Converted),
        held = literal(&SeatStatus::Held),
        booked = literal(&SeatStatus::Booked),
        pending_payment = literal(&PaymentStatus::Pending),
        succeeded = literal(&PaymentStatus::Succeeded),
        pending = literal(&BookingStatus::PendingPayment),
        failed = literal(&BookingStatus::PaymentFailed),
        confirmed = literal(&BookingStatus::Confirmed),
    )
});

/// A captured payment's booking, as the capture left it.
#[derive(Clone, Debug)]
pub struct Captured {
    pub booking: booking::Model,
    pub seats: Vec<seat::Model>,
    pub payments: Vec<payment::Model>,
    pub changes: Changes,
}

/// Captures an approved payment; `None` when it cannot be (settled already, the booking
/// paid or ended, the hold run out, a seat gone): nothing changed.
pub async fn capture(
    state: &AppState,
    payment_id: Uuid,
    provider_ref: &str,
    key: Option<(&str, Uuid, Value)>,
) -> ApiResult<Option<Captured>> {
    let (key, user, result) = match key {
        Some((key, user, result)) => (Some(key.to_owned()), Some(user), result),
        None => (None, None, Value::Null),
    };
    let values = || -> Vec<sea_orm::Value> {
        vec![
            payment_id.into(),
            provider_ref.to_owned().into(),
            key.clone().into(),
            user.into(),
            result.clone().into(),
        ]
    };
    let mut attempt = 0;
    let row = loop {
        attempt += 1;
        match one_row(state, &CAPTURE, values()).await {
            Ok(row) => break row,
            Err(error) => {
                let error = anyhow::Error::new(error);
                // Racing the hold-expiry sweep at the hold's last moment: one more look.
                if attempt < 3 && is_deadlock(&error) {
                    continue;
                }
                return Err(error.context("capturing a payment").into());
            }
        }
    };
    if !row.try_get::<bool>("", "go")? {
        return Ok(None);
    }
    let seats = rows::seats(rows::column(&row, "seats")?)?;
    let changes = seats
        .iter()
        .map(|seat| (seat.id, SeatStatus::Booked, seat.version))
        .collect();
    Ok(Some(Captured {
        booking: rows::booking(rows::column(&row, "booking")?)?,
        payments: rows::payments(rows::column(&row, "payments")?)?,
        seats,
        changes,
    }))
}
