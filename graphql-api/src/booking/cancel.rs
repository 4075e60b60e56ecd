//! Cancelling a booking: an unpaid one ends its hold, a paid one is refunded; either way its
//! seats go back on sale. One statement (one round trip, [`inventory::orders`]), answering
//! the booking as it left it.

use uuid::Uuid;

use super::{Booking, assemble};
use crate::{
    error::{ApiError, ApiResult},
    inventory::{self, orders::cancel_booking},
    state::AppState,
};

/// Cancels a booking: unpaid frees its hold's seats; paid is refunded and frees its seats.
/// Cancelling an ended booking changes nothing. Answers the booking as it is now.
pub async fn cancel(
    state: &AppState,
    user: Uuid,
    event: Option<i64>,
    id: Uuid,
) -> ApiResult<Booking> {
    let Some(done) = cancel_booking(state, id, user, event).await? else {
        return Err(ApiError::BookingNotFound);
    };
    let event = done.booking.event_id;
    inventory::publish(state, event, &done.changes).await;
    let categories = inventory::categories(state, event).await?;
    assemble(
        state,
        &done.booking,
        &done.seats,
        &categories,
        &done.payments,
        None,
    )
    .await
}
