//! Creating and cancelling a booking, each in one statement (one round trip), answering with
//! the booking, its seats and its payments as JSON columns ([`super::rows`]).
//!
//! Each statement locks what it decides on first (the hold, or the booking), conditions
//! every change on that decision, and so refuses by changing nothing.

use std::sync::LazyLock;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use entities::{
    booking, booking::BookingStatus, hold::HoldStatus, payment, payment::PaymentStatus, seat,
    seat::SeatStatus,
};
use sea_orm::{ConnectionTrait as _, QueryResult, Statement};
use serde_json::Value;
use uuid::Uuid;

use super::{Changes, rows};
use crate::{
    db::{is_unique_violation, literal},
    error::ApiResult,
    state::AppState,
};

/// $1 booking, $2 reference, $3 event, $4 fan, $5 hold, $6 payment intent, $7 idempotency
/// key (NULL: none), $8 fingerprint, $9 key lifetime seconds, $10 the key's result.
static CREATE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH prior AS MATERIALIZED ( \
             SELECT 1 FROM idempotency_records WHERE $7::text IS NOT NULL AND user_id = $4 AND key = $7 \
         ), h AS MATERIALIZED ( \
             SELECT id, status, held_until, held_until > now() AS live FROM holds \
             WHERE id = $5 AND event_id = $3 AND user_id = $4 FOR UPDATE \
         ), existing AS MATERIALIZED ( \
             SELECT id FROM bookings WHERE hold_id = $5 AND status IN ({pending}, {failed}, {confirmed}) LIMIT 1 \
         ), lines AS MATERIALIZED ( \
             SELECT s.*, c.price_minor, c.currency FROM seats s JOIN seat_categories c ON c.id = s.category_id \
             WHERE s.hold_id = $5 AND EXISTS (SELECT 1 FROM h) \
         ), decision AS MATERIALIZED ( \
             SELECT NOT EXISTS (SELECT 1 FROM prior) AND NOT EXISTS (SELECT 1 FROM existing) \
                AND EXISTS (SELECT 1 FROM h WHERE status = {active} AND live) \
                AND EXISTS (SELECT 1 FROM lines) AS go \
         ), claim AS ( \
             INSERT INTO idempotency_records (user_id, key, operation, request_hash, status, response, expires_at) \
             SELECT $4, $7, 'createBooking', $8, 'COMPLETED', $10, now() + make_interval(secs => $9) \
             FROM decision WHERE go AND $7::text IS NOT NULL \
             ON CONFLICT (user_id, key) DO NOTHING RETURNING 1 \
         ), made AS ( \
             INSERT INTO bookings (id, reference, event_id, user_id, hold_id, amount_minor, currency, payment_intent) \
             SELECT $1, $2, $3, $4, $5, (SELECT sum(price_minor) FROM lines), (SELECT min(currency) FROM lines), $6 \
             FROM decision WHERE go AND ($7::text IS NULL OR EXISTS (SELECT 1 FROM claim)) \
             RETURNING * \
         ), listed AS ( \
             INSERT INTO booking_seats (booking_id, seat_id, event_id, price_minor) \
             SELECT made.id, lines.id, lines.event_id, lines.price_minor FROM made, lines RETURNING seat_id \
         ) \
         SELECT (SELECT go FROM decision) AS go, EXISTS (SELECT 1 FROM prior) AS prior, \
                (SELECT id FROM existing) AS existing, (SELECT status FROM h) AS hold_status, \
                (SELECT live FROM h) AS hold_live, (SELECT held_until FROM h) AS hold_until, \
                (SELECT to_jsonb(made) FROM made) AS booking, \
                (SELECT jsonb_agg(to_jsonb(lines) ORDER BY lines.id) FROM lines) AS seats",
        active = literal(&HoldStatus::Active),
        pending = literal(&BookingStatus::PendingPayment),
        failed = literal(&BookingStatus::PaymentFailed),
        confirmed = literal(&BookingStatus::Confirmed),
    )
});

/// A booking to create from a hold.
#[derive(Clone, Debug)]
pub struct CreateRequest<'a> {
    pub booking_id: Uuid,
    pub reference: String,
    pub event: i64,
    pub user: Uuid,
    pub hold_id: Uuid,
    pub payment_intent: String,
    /// The idempotency key, its fingerprint, lifetime and the result to record.
    pub key: Option<(&'a str, Vec<u8>, f64, Value)>,
}

/// What the create statement decided.
#[derive(Clone, Debug)]
pub enum Created {
    /// Made: the booking, its seats (still HELD) and the hold's end.
    Made {
        booking: Box<booking::Model>,
        seats: Vec<seat::Model>,
        hold_until: DateTime<Utc>,
    },
    /// The hold already has a live booking.
    Existing(Uuid),
    /// The key has a record already, or another request with it won: answer as a replay.
    KeySeen,
    /// Another booking of this hold won a race (or the reference was drawn twice): the
    /// transactional path sorts it out.
    Raced,
    /// No such hold of this fan.
    Missing,
    /// The hold ended or ran out.
    NotLive,
}

/// Runs the create statement.
pub async fn create_booking(state: &AppState, request: &CreateRequest<'_>) -> ApiResult<Created> {
    let (key, hash, ttl, result) = split_key(&request.key);
    let answer = one_row(
        state,
        &CREATE,
        vec![
            request.booking_id.into(),
            request.reference.clone().into(),
            request.event.into(),
            request.user.into(),
            request.hold_id.into(),
            request.payment_intent.clone().into(),
            key.into(),
            hash.into(),
            ttl.into(),
            result.into(),
        ],
    )
    .await;
    let row = match answer {
        Err(error)
            if is_unique_violation(&error, "bookings_one_live_per_hold")
                || is_unique_violation(&error, "bookings_reference_key") =>
        {
            return Ok(Created::Raced);
        }
        other => other.context("creating a booking")?,
    };
    if row.try_get::<bool>("", "prior")? {
        return Ok(Created::KeySeen);
    }
    if let Some(existing) = row.try_get::<Option<Uuid>>("", "existing")? {
        return Ok(Created::Existing(existing));
    }
    let Some(status) = row.try_get::<Option<HoldStatus>>("", "hold_status")? else {
        return Ok(Created::Missing);
    };
    let live = row.try_get::<Option<bool>>("", "hold_live")? == Some(true);
    if status != HoldStatus::Active || !live || !row.try_get::<bool>("", "go")? {
        return Ok(Created::NotLive);
    }
    let booking = rows::column(&row, "booking")?;
    if booking.is_null() {
        return Ok(Created::KeySeen);
    }
    Ok(Created::Made {
        booking: Box::new(rows::booking(booking)?),
        seats: rows::seats(rows::column(&row, "seats")?)?,
        hold_until: row.try_get("", "hold_until")?,
    })
}

/// $1 booking, $2 fan, $3 event (NULL: any): an unpaid booking is cancelled and its hold
/// released; a paid one is refunded, its payment with it. Either way its seats go back on
/// sale.
static CANCEL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH b AS MATERIALIZED ( \
             SELECT id, status, hold_id FROM bookings \
             WHERE id = $1 AND user_id = $2 AND ($3::bigint IS NULL OR event_id = $3) FOR UPDATE \
         ), unpaid AS MATERIALIZED ( \
             SELECT EXISTS (SELECT 1 FROM b WHERE status IN ({pending}, {failed})) AS yes \
         ), paid AS MATERIALIZED ( \
             SELECT EXISTS (SELECT 1 FROM b WHERE status = {confirmed}) AS yes \
         ), h AS MATERIALIZED ( \
             SELECT id FROM holds WHERE id = (SELECT hold_id FROM b) AND (SELECT yes FROM unpaid) FOR UPDATE \
         ), freed_held AS ( \
             UPDATE seats s SET status = {available}, hold_id = NULL, held_until = NULL, \
                 version = s.version + 1, updated_at = now() \
             WHERE s.hold_id = (SELECT id FROM h) RETURNING s.* \
         ), released AS ( \
             UPDATE holds SET status = {released}, ended_at = now() \
             WHERE id = (SELECT id FROM h) AND status = {active} RETURNING 1 \
         ), freed_booked AS ( \
             UPDATE seats s SET status = {available}, booking_id = NULL, \
                 version = s.version + 1, updated_at = now() \
             WHERE s.booking_id = $1 AND (SELECT yes FROM paid) RETURNING s.* \
         ), unconfirmed AS ( \
             UPDATE booking_seats SET confirmed = false WHERE booking_id = $1 AND (SELECT yes FROM paid) \
             RETURNING 1 \
         ), refunded_payments AS ( \
             UPDATE payments SET status = {refunded_payment}, updated_at = now() \
             WHERE booking_id = $1 AND status = {succeeded} AND (SELECT yes FROM paid) RETURNING * \
         ), ended AS ( \
             UPDATE bookings SET status = CASE WHEN (SELECT yes FROM paid) THEN {refunded} ELSE {cancelled} END, \
                 cancelled_at = now(), updated_at = now() \
             WHERE id = $1 AND ((SELECT yes FROM paid) OR (SELECT yes FROM unpaid)) RETURNING * \
         ), seats_now AS ( \
             SELECT * FROM freed_held UNION ALL SELECT * FROM freed_booked \
             UNION ALL SELECT s.* FROM seats s JOIN booking_seats bs ON bs.seat_id = s.id \
             WHERE bs.booking_id = $1 AND NOT (SELECT yes FROM paid) AND NOT (SELECT yes FROM unpaid) \
         ) \
         SELECT EXISTS (SELECT 1 FROM b) AS found, \
                (SELECT count(*) FROM unconfirmed) + (SELECT count(*) FROM released) AS touched, \
                (SELECT jsonb_agg(jsonb_build_array(id, version)) FROM ( \
                    SELECT id, version FROM freed_held UNION ALL SELECT id, version FROM freed_booked) f) AS freed, \
                coalesce((SELECT to_jsonb(ended) FROM ended), (SELECT to_jsonb(x) FROM bookings x WHERE x.id = $1 AND EXISTS (SELECT 1 FROM b))) AS booking, \
                (SELECT jsonb_agg(to_jsonb(seats_now)) FROM seats_now) AS seats, \
                (SELECT jsonb_agg(p) FROM ( \
                    SELECT to_jsonb(r) AS p FROM refunded_payments r \
                    UNION ALL SELECT to_jsonb(x) FROM payments x \
                    WHERE x.booking_id = $1 AND EXISTS (SELECT 1 FROM b) \
                      AND x.id NOT IN (SELECT id FROM refunded_payments)) q) AS payments",
        pending = literal(&BookingStatus::PendingPayment),
        failed = literal(&BookingStatus::PaymentFailed),
        confirmed = literal(&BookingStatus::Confirmed),
        cancelled = literal(&BookingStatus::Cancelled),
        refunded = literal(&BookingStatus::Refunded),
        active = literal(&HoldStatus::Active),
        released = literal(&HoldStatus::Released),
        available = literal(&SeatStatus::Available),
        refunded_payment = literal(&PaymentStatus::Refunded),
        succeeded = literal(&PaymentStatus::Succeeded),
    )
});

/// A booking as a cancellation left it.
#[derive(Clone, Debug)]
pub struct Cancelled {
    pub booking: booking::Model,
    pub seats: Vec<seat::Model>,
    pub payments: Vec<payment::Model>,
    /// Seats that went back on sale.
    pub changes: Changes,
}

/// Cancels (or refunds) a fan's booking in one statement; `None` when there is no such
/// booking of theirs. An ended booking comes back unchanged.
pub async fn cancel_booking(
    state: &AppState,
    booking_id: Uuid,
    user: Uuid,
    event: Option<i64>,
) -> ApiResult<Option<Cancelled>> {
    let row = one_row(
        state,
        &CANCEL,
        vec![booking_id.into(), user.into(), event.into()],
    )
    .await
    .context("cancelling a booking")?;
    if !row.try_get::<bool>("", "found")? {
        return Ok(None);
    }
    let booking = rows::booking(rows::column(&row, "booking")?)?;
    let seats = rows::seats(rows::column(&row, "seats")?)?;
    let freed = rows::column(&row, "freed")?;
    let changes = if freed.is_null() {
        Changes::new()
    } else {
        serde_json::from_value::<Vec<(i64, i64)>>(freed)
            .context("reading freed seats")?
            .into_iter()
            .map(|(id, version)| (id, SeatStatus::Available, version))
            .collect()
    };
    Ok(Some(Cancelled {
        payments: rows::payments(rows::column(&row, "payments")?)?,
        booking,
        seats,
        changes,
    }))
}

/// The key's parts as statement parameters (NULLs when there is no key).
pub fn split_key(
    key: &Option<(&str, Vec<u8>, f64, Value)>,
) -> (Option<String>, Vec<u8>, f64, Value) {
    match key {
        Some((key, hash, ttl, result)) => {
            (Some((*key).to_owned()), hash.clone(), *ttl, result.clone())
        }
        None => (None, Vec::new(), 0.0, Value::Null),
    }
}

/// Runs a statement that answers exactly one row.
pub async fn one_row(
    state: &AppState,
    sql: &str,
    values: Vec<sea_orm::Value>,
) -> Result<QueryResult, sea_orm::DbErr> {
    let db = state.db();
    db.query_one_raw(Statement::from_sql_and_values(
        db.get_database_backend(),
        sql,
        values,
    ))
    .await?
    .ok_or_else(|| sea_orm::DbErr::RecordNotFound("a sale statement answered no row".into()))
}
