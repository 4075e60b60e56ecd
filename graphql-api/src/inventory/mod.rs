//! Seat state: the only code that changes a seat. Every change is one conditional UPDATE
//! inside the caller's transaction, returning `(id, version)` of each seat it changed, so
//! the caller publishes exactly what committed ([`publish`], after the commit). Postgres's
//! constraints stay the guarantee against selling a seat twice: a HELD seat must point at a
//! live hold, a BOOKED seat at a confirmed booking.
//!
//! Statuses are the entities' enums; the SQL is written once per statement with their
//! spellings filled in ([`statements`]), so no status is a string literal in this crate.

pub mod capture;
pub mod hold_life;
pub mod orders;
pub mod rows;
pub mod statements;
pub mod supply;
pub mod take;

use anyhow::Context as _;
use entities::{booking::BookingStatus, hold::HoldStatus, seat::SeatStatus};
use sea_orm::{ConnectionTrait, DatabaseTransaction, Statement};
use uuid::Uuid;

pub use crate::live::seats::Changes;
use crate::{
    error::{ApiError, ApiResult},
    live::seats as seat_changes,
    state::AppState,
};

/// Runs a seat UPDATE and reads the seats it changed, all now in `status`.
async fn changed(
    tx: &impl ConnectionTrait,
    sql: &str,
    values: Vec<sea_orm::Value>,
    status: SeatStatus,
) -> ApiResult<Changes> {
    let rows = tx
        .query_all_raw(Statement::from_sql_and_values(
            tx.get_database_backend(),
            sql,
            values,
        ))
        .await
        .context("changing seats")?;
    rows.iter()
        .map(|row| {
            Ok((
                row.try_get::<i64>("", "id")?,
                status,
                row.try_get::<i64>("", "version")?,
            ))
        })
        .collect::<Result<Changes, sea_orm::DbErr>>()
        .map_err(|error| {
            anyhow::Error::new(error)
                .context("reading changed seats")
                .into()
        })
}

/// Runs a statement that changes no seat (holds, bookings, booking lines).
async fn execute(
    tx: &DatabaseTransaction,
    sql: &str,
    values: Vec<sea_orm::Value>,
    what: &'static str,
) -> ApiResult<u64> {
    let done = tx
        .execute_raw(Statement::from_sql_and_values(
            tx.get_database_backend(),
            sql,
            values,
        ))
        .await
        .context(what)?;
    Ok(done.rows_affected())
}

/// Holds every one of `seat_ids` for the hold `hold_id`: seats that are free (or whose hold
/// ran out). The one statement that decides: fewer changes than seats means some were taken,
/// and the caller must roll back.
pub async fn hold_seats(
    tx: &DatabaseTransaction,
    event: i64,
    hold_id: Uuid,
    seat_ids: &[i64],
) -> ApiResult<Changes> {
    changed(
        tx,
        &statements::HOLD_SEATS,
        vec![hold_id.into(), event.into(), seat_ids.to_vec().into()],
        SeatStatus::Held,
    )
    .await
}

/// Why seats could not be held: unknown ones first, else the taken ones.
pub async fn refusal(state: &AppState, event: i64, seat_ids: &[i64]) -> ApiResult<ApiError> {
    let db = state.db();
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            statements::SEATS_FREE.as_str(),
            [event.into(), seat_ids.to_vec().into()],
        ))
        .await
        .context("explaining a refused hold")?;
    let mut known = std::collections::HashSet::with_capacity(rows.len());
    let mut taken = Vec::new();
    for row in rows {
        let id: i64 = row.try_get("", "id").context("id")?;
        known.insert(id);
        if !row.try_get::<bool>("", "free").context("free")? {
            taken.push(id);
        }
    }
    if let Some(unknown) = seat_ids.iter().find(|id| !known.contains(id)) {
        return Ok(ApiError::SeatNotFound(unknown.to_string()));
    }
    if taken.is_empty() {
        // Taken and freed again between our attempt and this look: still a lost race.
        taken = seat_ids.to_vec();
    }
    taken.sort_unstable();
    Ok(ApiError::SeatTaken { seat_ids: taken })
}

/// Ends a hold: frees its seats, marks it `hold_status`, and marks its unpaid booking
/// `booking_status`. Returns the freed seats.
pub async fn end_hold(
    tx: &DatabaseTransaction,
    hold_id: Uuid,
    hold_status: HoldStatus,
    booking_status: BookingStatus,
) -> ApiResult<Changes> {
    // Seats first: the schema refuses to end a hold that seats still point at.
    let freed = changed(
        tx,
        &statements::FREE_HOLD_SEATS,
        vec![hold_id.into()],
        SeatStatus::Available,
    )
    .await?;
    execute(
        tx,
        &statements::END_HOLD,
        vec![hold_id.into(), statements::spelled(&hold_status).into()],
        "ending a hold",
    )
    .await?;
    execute(
        tx,
        &statements::END_UNPAID_BOOKING,
        vec![hold_id.into(), statements::spelled(&booking_status).into()],
        "ending a hold's booking",
    )
    .await?;
    Ok(freed)
}

/// Moves a hold's seats to the hold's (extended) end.
pub async fn follow_hold(tx: &DatabaseTransaction, hold_id: Uuid) -> ApiResult<()> {
    execute(
        tx,
        &statements::FOLLOW_HOLD,
        vec![hold_id.into()],
        "extending a hold's seats",
    )
    .await?;
    Ok(())
}

/// Books a paid booking's seats, which its hold must still hold; then converts the hold and
/// confirms the booking. `None` when some seat slipped away (taken after its hold ran out):
/// the caller must roll back.
pub async fn book(
    tx: &DatabaseTransaction,
    booking_id: Uuid,
    hold_id: Uuid,
) -> ApiResult<Option<Changes>> {
    // Booking lines first: a BOOKED seat must point at a confirmed booking line.
    let lines = execute(
        tx,
        &statements::CONFIRM_LINES,
        vec![booking_id.into()],
        "confirming booking seats",
    )
    .await?;
    let booked = changed(
        tx,
        &statements::BOOK_SEATS,
        vec![booking_id.into(), hold_id.into()],
        SeatStatus::Booked,
    )
    .await?;
    if booked.len() as u64 != lines {
        return Ok(None);
    }
    execute(
        tx,
        &statements::CONVERT_HOLD,
        vec![hold_id.into()],
        "converting a hold",
    )
    .await?;
    execute(
        tx,
        &statements::CONFIRM_BOOKING,
        vec![booking_id.into()],
        "confirming a booking",
    )
    .await?;
    Ok(Some(booked))
}

/// Refunds a confirmed booking: its seats go back on sale, its lines and payment are
/// refunded with it.
pub async fn refund(tx: &DatabaseTransaction, booking_id: Uuid) -> ApiResult<Changes> {
    // Seats first: a BOOKED seat must point at a confirmed booking line.
    let freed = changed(
        tx,
        &statements::FREE_BOOKED_SEATS,
        vec![booking_id.into()],
        SeatStatus::Available,
    )
    .await?;
    for sql in [
        &*statements::UNCONFIRM_LINES,
        &*statements::REFUND_PAYMENT,
        &*statements::REFUND_BOOKING,
    ] {
        execute(tx, sql, vec![booking_id.into()], "refunding").await?;
    }
    Ok(freed)
}

/// The event's seat categories, from the instance's cache: the sale path prices holds and
/// bookings from them without a round trip.
pub async fn categories(
    state: &AppState,
    event: i64,
) -> ApiResult<std::sync::Arc<Vec<entities::seat_category::Model>>> {
    use entities::seat_category;
    use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _, QueryOrder as _};
    let db = state.db().clone();
    state
        .category_cache()
        .try_get_with(event, async move {
            let rows = seat_category::Entity::find()
                .filter(seat_category::Column::EventId.eq(event))
                .order_by_asc(seat_category::Column::SortOrder)
                .order_by_asc(seat_category::Column::Id)
                .all(&db)
                .await
                .context("loading an event's seat categories")?;
            Ok::<_, ApiError>(std::sync::Arc::new(rows))
        })
        .await
        .map_err(|error: std::sync::Arc<ApiError>| ApiError::clone(&error))
}

/// Tells every instance what committed. Call it after the commit, never before: a change
/// published and then rolled back would show fans a seat state that never was.
pub async fn publish(state: &AppState, event: i64, changes: &[(i64, SeatStatus, i64)]) {
    seat_changes::publish(state.redis(), state.keys(), event, changes).await;
}
