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
                .map(|payment| payment.view())
                .collect(),
            event: Event::from(event.as_ref()),
        });
    }
    Ok(out)
}
