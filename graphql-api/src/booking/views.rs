//! How a fan sees bookings: loaded with their seats, payments and events in a fixed number
//! of queries, whatever their count.

use std::collections::HashMap;

use anyhow::Context as _;
use async_graphql::ID;
use chrono::{DateTime, Utc};
use entities::{booking, payment, seat, seat_category};
use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _, QueryOrder as _};
use uuid::Uuid;

use super::{Booking, payment_view::PaymentView as _};
use crate::{
    error::{ApiError, ApiResult},
    events::{Event, find_event_by_id},
    money::Money,
    seats::Seat,
    state::AppState,
};

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
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let booked: Vec<seat::Model> = lines
            .iter()
            .filter(|line| line.booking_id == row.id)
            .filter_map(|line| seats.get(&line.seat_id).cloned())
            .collect();
        let own_payments: Vec<payment::Model> = payments
            .iter()
            .filter(|p| p.booking_id == row.id)
            .cloned()
            .collect();
        let hold_until = row.hold_id.and_then(|hold| holds.get(&hold).copied());
        out.push(assemble(state, row, &booked, &categories, &own_payments, hold_until).await?);
    }
    Ok(out)
}

/// One booking as its fan sees it, from its rows: its seats, its event's categories, its
/// payments (oldest first) and its hold's end. Queries nothing but the cached event, so a
/// sale mutation can answer from the rows its statement returned.
pub async fn assemble(
    state: &AppState,
    row: &booking::Model,
    seats: &[seat::Model],
    categories: &[seat_category::Model],
    payments: &[payment::Model],
    hold_until: Option<DateTime<Utc>>,
) -> ApiResult<Booking> {
    let now = Utc::now();
    let event = find_event_by_id(state, row.event_id).await?;
    let mut booked_seats = seats
        .iter()
        .map(|seat_row| Seat::from_model(seat_row, categories, now))
        .collect::<ApiResult<Vec<_>>>()?;
    booked_seats.sort_by_key(|seat| seat.id.0.parse::<i64>().unwrap_or(0));
    let unpaid = matches!(
        row.status,
        booking::BookingStatus::PendingPayment | booking::BookingStatus::PaymentFailed
    );
    Ok(Booking {
        id: ID(row.id.to_string()),
        reference: row.reference.clone(),
        status: row.status.into(),
        seats: booked_seats,
        total: Money::new(row.amount_minor, &row.currency),
        payment_intent: row.payment_intent.clone(),
        hold_expires_at: if unpaid { hold_until } else { None },
        created_at: row.created_at,
        confirmed_at: row.confirmed_at,
        payments: payments.iter().map(|payment| payment.view()).collect(),
        event: Event::from(event.as_ref()),
    })
}
