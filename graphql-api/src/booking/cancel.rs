//! Cancelling a booking: an unpaid one ends its hold, a paid one is refunded; either way its
//! seats go back on sale (through [`crate::inventory`]).

use anyhow::Context as _;
use entities::{booking::BookingStatus, hold::HoldStatus};
use sea_orm::{ConnectionTrait as _, Statement, TransactionTrait as _};
use uuid::Uuid;

use super::load;
use crate::{
    error::{ApiError, ApiResult},
    inventory::{self, Changes},
    state::AppState,
};

/// Cancels a booking: unpaid frees its hold's seats; paid is refunded and frees its seats.
/// Cancelling an ended booking changes nothing.
pub async fn cancel(state: &AppState, user: Uuid, event: Option<i64>, id: Uuid) -> ApiResult<()> {
    let found = load(state, user, event, id).await?;
    let db = state.db();
    let backend = db.get_database_backend();
    let tx = db.begin().await.context("starting cancelBooking")?;
    let status: BookingStatus = tx
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
    let changes: Changes = match status {
        BookingStatus::PendingPayment | BookingStatus::PaymentFailed => match found.hold_id {
            Some(hold_id) => {
                tx.execute_raw(Statement::from_sql_and_values(
                    backend,
                    "SELECT id FROM holds WHERE id = $1 FOR UPDATE",
                    [hold_id.into()],
                ))
                .await
                .context("locking a hold")?;
                inventory::end_hold(&tx, hold_id, HoldStatus::Released, BookingStatus::Cancelled)
                    .await?
            }
            None => Changes::new(),
        },
        BookingStatus::Confirmed => inventory::refund(&tx, id).await?,
        _ => Changes::new(),
    };
    tx.commit().await.context("committing cancelBooking")?;
    inventory::publish(state, found.event_id, &changes).await;
    Ok(())
}
