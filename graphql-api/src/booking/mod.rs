//! Bookings: a hold turned into an order with a server-computed total and a payment intent;
//! cancelling (a refund once paid); `myBookings` on the public schema.

use std::collections::HashMap;

use anyhow::Context as _;
use async_graphql::{Context, Enum, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entities::{booking, event, payment, seat, seat_category};
use rand::Rng as _;
use sea_orm::{
    ColumnTrait as _, ConnectionTrait as _, EntityTrait as _, QueryFilter as _, QueryOrder as _,
    Statement, TransactionTrait as _,
};
use serde_json::json;
use uuid::Uuid;

use crate::{
    auth::AuthContext as _,
    context::ContextExt as _,
    error::{ApiError, ApiResult},
    events::{Event, find_event_by_id},
    holds::{Changes, end_hold, parse_uuid, sale_context},
    idempotency::{self, Claim},
    money::Money,
    payments::{Payment, PaymentView},
    seats::{Seat, live},
    state::AppState,
};

/// Where a booking is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
pub enum BookingStatus {
    PendingPayment,
    PaymentFailed,
    Confirmed,
    Cancelled,
    Expired,
    Refunded,
}

impl From<booking::BookingStatus> for BookingStatus {
    fn from(status: booking::BookingStatus) -> Self {
        match status {
            booking::BookingStatus::PendingPayment => BookingStatus::PendingPayment,
            booking::BookingStatus::PaymentFailed => BookingStatus::PaymentFailed,
            booking::BookingStatus::Confirmed => BookingStatus::Confirmed,
            booking::BookingStatus::Cancelled => BookingStatus::Cancelled,
            booking::BookingStatus::Expired => BookingStatus::Expired,
            booking::BookingStatus::Refunded => BookingStatus::Refunded,
        }
    }
}

/// A fan's order.
#[derive(Clone, Debug, SimpleObject)]
pub struct Booking {
    pub id: ID,
    /// What the fan reads out at the gate, e.g. `COL-7K3F9Q`.
    pub reference: String,
    pub status: BookingStatus,
    pub seats: Vec<Seat>,
    /// Computed on the server from the seats' category prices.
    pub total: Money,
    /// The payment intent to pay (also what a provider's webhook names).
    pub payment_intent: String,
    /// Until when it can be paid (its hold's expiry), while unpaid.
    pub hold_expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub payments: Vec<Payment>,
    pub event: Event,
}

/// Public booking queries.
#[derive(Default)]
pub struct BookingsQuery;

#[Object]
impl BookingsQuery {
    /// The signed-in fan's bookings, newest first.
    async fn my_bookings(&self, ctx: &Context<'_>) -> ApiResult<Vec<Booking>> {
        let identity = ctx.identity()?;
        let state = ctx.api_data::<AppState>()?;
        let rows = booking::Entity::find()
            .filter(booking::Column::UserId.eq(identity.user_id))
            .order_by_desc(booking::Column::CreatedAt)
            .all(state.db())
            .await
            .context("listing bookings")?;
        views(state, &rows).await
    }
}

/// Public booking mutations.
#[derive(Default)]
pub struct BookingsMutation;

#[Object]
impl BookingsMutation {
    /// Cancels one of the signed-in fan's bookings: an unpaid one frees its seats, a paid one
    /// is refunded and frees them.
    async fn cancel_booking(&self, ctx: &Context<'_>, booking_id: ID) -> ApiResult<Booking> {
        let identity = ctx.identity()?;
        let state = ctx.api_data::<AppState>()?;
        let id = parse_uuid(&booking_id, ApiError::BookingNotFound)?;
        cancel(state, identity.user_id, None, id).await?;
        view_one(state, identity.user_id, None, id).await
    }
}

/// Sale-schema booking queries.
#[derive(Default)]
pub struct SaleBookingsQuery;

#[Object]
impl SaleBookingsQuery {
    /// One of the buyer's bookings in this event.
    async fn booking(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Booking> {
        let (state, scope, buyer) = sale_context(ctx)?;
        let id = parse_uuid(&id, ApiError::BookingNotFound)?;
        view_one(state, buyer.user_id, Some(scope.event.id), id).await
    }
}

/// Sale-schema booking mutations.
#[derive(Default)]
pub struct SaleBookingsMutation;

#[Object]
impl SaleBookingsMutation {
    /// Turns a live hold into a booking awaiting payment (one per hold: asking again returns
    /// the same booking).
    async fn create_booking(
        &self,
        ctx: &Context<'_>,
        hold_id: ID,
        idempotency_key: String,
    ) -> ApiResult<Booking> {
        let (state, scope, buyer) = sale_context(ctx)?;
        let hold_id = parse_uuid(&hold_id, ApiError::HoldNotFound)?;
        let input = json!({ "event": scope.event.id, "hold": hold_id });
        let event = &scope.event;
        let id = idempotency::once(
            state,
            buyer.user_id,
            &idempotency_key,
            "createBooking",
            &input,
            "bookingId",
            |claim| async move { create(state, event, buyer.user_id, hold_id, Some(&claim)).await },
        )
        .await?;
        view_one(state, buyer.user_id, Some(scope.event.id), id).await
    }

    /// Cancels one of the buyer's bookings in this event (refunding it if paid).
    async fn cancel_booking(&self, ctx: &Context<'_>, booking_id: ID) -> ApiResult<Booking> {
        let (state, scope, buyer) = sale_context(ctx)?;
        let id = parse_uuid(&booking_id, ApiError::BookingNotFound)?;
        cancel(state, buyer.user_id, Some(scope.event.id), id).await?;
        view_one(state, buyer.user_id, Some(scope.event.id), id).await
    }
}

/// Loads one of a fan's bookings (in `event`, when given), or `BOOKING_NOT_FOUND`.
pub async fn load(
    state: &AppState,
    user: Uuid,
    event: Option<i64>,
    id: Uuid,
) -> ApiResult<booking::Model> {
    let mut query = booking::Entity::find_by_id(id).filter(booking::Column::UserId.eq(user));
    if let Some(event) = event {
        query = query.filter(booking::Column::EventId.eq(event));
    }
    query
        .one(state.db())
        .await
        .context("loading a booking")?
        .ok_or(ApiError::BookingNotFound)
}

/// A short code people can read out: artist initials and six unambiguous characters.
pub fn reference(artist: &str) -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let prefix: String = artist
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(3)
        .collect::<String>()
        .to_uppercase();
    let prefix = if prefix.is_empty() {
        "TIX".to_owned()
    } else {
        prefix
    };
    let mut rng = rand::rng();
    let code: String = (0..6)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect();
    format!("{prefix}-{code}")
}

/// Creates the booking of a live hold, or returns the hold's existing live booking. With a
/// `claim`, its idempotency key is recorded in the same transaction as the booking.
pub async fn create(
    state: &AppState,
    event: &event::Model,
    user: Uuid,
    hold_id: Uuid,
    claim: Option<&Claim>,
) -> ApiResult<Uuid> {
    let db = state.db();
    let backend = db.get_database_backend();
    for _ in 0..5 {
        let tx = db.begin().await.context("starting createBooking")?;
        let hold = tx
            .query_one_raw(Statement::from_sql_and_values(
                backend,
                "SELECT status, held_until > now() AS live FROM holds \
                 WHERE id = $1 AND event_id = $2 AND user_id = $3 FOR UPDATE",
                [hold_id.into(), event.id.into(), user.into()],
            ))
            .await
            .context("locking a hold")?
            .ok_or(ApiError::HoldNotFound)?;
        let status: String = hold.try_get("", "status").context("status")?;
        let live: bool = hold.try_get("", "live").context("live")?;
        let existing = tx
            .query_one_raw(Statement::from_sql_and_values(
                backend,
                "SELECT id FROM bookings WHERE hold_id = $1 \
                 AND status IN ('PENDING_PAYMENT', 'PAYMENT_FAILED', 'CONFIRMED')",
                [hold_id.into()],
            ))
            .await
            .context("finding a hold's booking")?;
        if let Some(existing) = existing {
            return Ok(existing.try_get("", "id").context("booking id")?);
        }
        if status != "ACTIVE" || !live {
            return Err(ApiError::HoldExpired);
        }
        let id = Uuid::now_v7();
        let created = tx
            .execute_raw(Statement::from_sql_and_values(
                backend,
                "INSERT INTO bookings (id, reference, event_id, user_id, hold_id, amount_minor, currency, payment_intent) \
                 SELECT $1, $2, $3, $4, $5, sum(c.price_minor), min(c.currency), $6 \
                 FROM seats s JOIN seat_categories c ON c.id = s.category_id WHERE s.hold_id = $5",
                [
                    id.into(),
                    reference(&event.artist).into(),
                    event.id.into(),
                    user.into(),
                    hold_id.into(),
                    format!("pi_{}", Uuid::new_v4().simple()).into(),
                ],
            ))
            .await;
        match created {
            Ok(_) => {}
            // One in a billion: two bookings drew the same reference. Draw again.
            Err(error)
                if crate::accounts::is_unique_violation(&error, "bookings_reference_key") =>
            {
                continue;
            }
            Err(error) => {
                return Err(anyhow::Error::new(error)
                    .context("creating a booking")
                    .into());
            }
        }
        tx.execute_raw(Statement::from_sql_and_values(
            backend,
            "INSERT INTO booking_seats (booking_id, seat_id, event_id, price_minor) \
             SELECT $1, s.id, s.event_id, c.price_minor FROM seats s \
             JOIN seat_categories c ON c.id = s.category_id WHERE s.hold_id = $2",
            [id.into(), hold_id.into()],
        ))
        .await
        .context("listing a booking's seats")?;
        if let Some(claim) = claim {
            claim.complete(&tx, id).await?;
        }
        tx.commit().await.context("committing createBooking")?;
        return Ok(id);
    }
    Err(anyhow::anyhow!("could not draw a unique booking reference").into())
}

/// Cancels a booking: unpaid frees its hold's seats; paid is refunded and frees its seats.
/// Cancelling an ended booking changes nothing.
pub async fn cancel(state: &AppState, user: Uuid, event: Option<i64>, id: Uuid) -> ApiResult<()> {
    let found = load(state, user, event, id).await?;
    let db = state.db();
    let backend = db.get_database_backend();
    let tx = db.begin().await.context("starting cancelBooking")?;
    let status: String = tx
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            "SELECT status FROM bookings WHERE id = $1 FOR UPDATE",
            [id.into()],
        ))
        .await
        .context("locking a booking")?
        .ok_or(ApiError::BookingNotFound)?
        .try_get("", "status")
        .context("status")?;
    let changes: Changes = match status.as_str() {
        "PENDING_PAYMENT" | "PAYMENT_FAILED" => match found.hold_id {
            Some(hold_id) => {
                tx.execute_raw(Statement::from_sql_and_values(
                    backend,
                    "SELECT id FROM holds WHERE id = $1 FOR UPDATE",
                    [hold_id.into()],
                ))
                .await
                .context("locking a hold")?;
                end_hold(&tx, hold_id, "RELEASED", "CANCELLED").await?
            }
            None => Changes::new(),
        },
        "CONFIRMED" => refund(&tx, id).await?,
        _ => Changes::new(),
    };
    tx.commit().await.context("committing cancelBooking")?;
    live::publish(state, found.event_id, &changes).await;
    Ok(())
}

/// Refunds a confirmed booking inside `tx`: money back, seats free.
async fn refund(tx: &sea_orm::DatabaseTransaction, id: Uuid) -> ApiResult<Changes> {
    let backend = tx.get_database_backend();
    // Seats first: a BOOKED seat must point at a confirmed booking row.
    let rows = tx
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            "UPDATE seats SET status = 'AVAILABLE', booking_id = NULL, version = version + 1, updated_at = now() \
             WHERE booking_id = $1 RETURNING id, version",
            [id.into()],
        ))
        .await
        .context("freeing booked seats")?;
    let mut changes = Changes::new();
    for row in rows {
        changes.push((
            row.try_get("", "id").context("id")?,
            seat::SeatStatus::Available,
            row.try_get("", "version").context("version")?,
        ));
    }
    for sql in [
        "UPDATE booking_seats SET confirmed = false WHERE booking_id = $1",
        "UPDATE payments SET status = 'REFUNDED', updated_at = now() WHERE booking_id = $1 AND status = 'SUCCEEDED'",
        "UPDATE bookings SET status = 'REFUNDED', cancelled_at = now(), updated_at = now() WHERE id = $1",
    ] {
        tx.execute_raw(Statement::from_sql_and_values(backend, sql, [id.into()]))
            .await
            .context("refunding")?;
    }
    Ok(changes)
}

/// One booking, as its fan sees it.
pub async fn view_one(
    state: &AppState,
    user: Uuid,
    event: Option<i64>,
    id: Uuid,
) -> ApiResult<Booking> {
    let found = load(state, user, event, id).await?;
    views(state, std::slice::from_ref(&found))
        .await?
        .pop()
        .ok_or(ApiError::BookingNotFound)
}

/// Bookings with their seats, payments and events, in a fixed number of queries.
pub async fn views(state: &AppState, rows: &[booking::Model]) -> ApiResult<Vec<Booking>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let db = state.db();
    let ids: Vec<Uuid> = rows.iter().map(|row| row.id).collect();
    let hold_ids: Vec<Uuid> = rows.iter().filter_map(|row| row.hold_id).collect();
    let lines = entities::booking_seat::Entity::find()
        .filter(entities::booking_seat::Column::BookingId.is_in(ids.clone()))
        .all(db)
        .await
        .context("loading booking seats")?;
    let seat_ids: Vec<i64> = lines.iter().map(|line| line.seat_id).collect();
    let seats: HashMap<i64, seat::Model> = seat::Entity::find()
        .filter(seat::Column::Id.is_in(seat_ids))
        .all(db)
        .await
        .context("loading seats")?
        .into_iter()
        .map(|row| (row.id, row))
        .collect();
    let event_ids: Vec<i64> = rows.iter().map(|row| row.event_id).collect();
    let categories = seat_category::Entity::find()
        .filter(seat_category::Column::EventId.is_in(event_ids))
        .all(db)
        .await
        .context("loading categories")?;
    let payments = payment::Entity::find()
        .filter(payment::Column::BookingId.is_in(ids))
        .order_by_asc(payment::Column::CreatedAt)
        .all(db)
        .await
        .context("loading payments")?;
    let holds: HashMap<Uuid, DateTime<Utc>> = entities::hold::Entity::find()
        .filter(entities::hold::Column::Id.is_in(hold_ids))
        .all(db)
        .await
        .context("loading holds")?
        .into_iter()
        .map(|hold| (hold.id, hold.held_until))
        .collect();
    let now = Utc::now();
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let event = find_event_by_id(state, row.event_id).await?;
        let mut booked_seats = Vec::new();
        for line in lines.iter().filter(|line| line.booking_id == row.id) {
            if let Some(seat_row) = seats.get(&line.seat_id) {
                booked_seats.push(Seat::from_model(seat_row, &categories, now)?);
            }
        }
        booked_seats.sort_by_key(|seat| seat.id.0.parse::<i64>().unwrap_or(0));
        let unpaid = matches!(
            row.status,
            booking::BookingStatus::PendingPayment | booking::BookingStatus::PaymentFailed
        );
        out.push(Booking {
            id: ID(row.id.to_string()),
            reference: row.reference.clone(),
            status: row.status.into(),
            seats: booked_seats,
            total: Money::new(row.amount_minor, &row.currency),
            payment_intent: row.payment_intent.clone(),
            hold_expires_at: if unpaid {
                row.hold_id.and_then(|hold| holds.get(&hold).copied())
            } else {
                None
            },
            created_at: row.created_at,
            confirmed_at: row.confirmed_at,
            payments: payments
                .iter()
                .filter(|p| p.booking_id == row.id)
                .map(PaymentView::view)
                .collect(),
            event: Event::from(event.as_ref()),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::reference;

    #[test]
    fn references_are_short_readable_and_prefixed_by_the_artist() {
        let code = reference("Coldplay");
        assert!(code.starts_with("COL-"), "{code}");
        assert_eq!(code.len(), 10);
        assert!(!code[4..].contains(['I', 'L', 'O', 'U']), "{code}");
        assert!(reference("!!!").starts_with("TIX-"));
    }
}
