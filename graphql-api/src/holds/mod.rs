//! Holds: all-or-nothing reservations of seats for one fan, for a while. [`lock`] takes
//! them, [`life`] releases, extends and shows them, and [`expiry`] sweeps those that ran out.
//! The seats themselves change only through [`crate::inventory`].

pub mod expiry;
pub mod life;
pub mod lock;

use async_graphql::{Context, Enum, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entities::hold;
use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _};

pub use self::{
    life::{extend, hold_view, load, release, view},
    lock::{Locked, NewHold, lock_seats, take},
};
use crate::{
    error::{ApiError, ApiResult},
    inventory,
    money::Money,
    sale::{parse_seat_ids, parse_uuid, sale_context},
    seats::Seat,
};
use anyhow::Context as _;

/// Where a hold is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
pub enum HoldStatus {
    Active,
    Released,
    Expired,
    /// Paid for: its seats are booked.
    Converted,
}

impl From<hold::HoldStatus> for HoldStatus {
    fn from(status: hold::HoldStatus) -> Self {
        match status {
            hold::HoldStatus::Active => HoldStatus::Active,
            hold::HoldStatus::Released => HoldStatus::Released,
            hold::HoldStatus::Expired => HoldStatus::Expired,
            hold::HoldStatus::Converted => HoldStatus::Converted,
        }
    }
}

/// Seats kept for one fan for a while.
#[derive(Clone, Debug, SimpleObject)]
pub struct Hold {
    pub id: ID,
    pub status: HoldStatus,
    pub seats: Vec<Seat>,
    /// When the seats go back on sale unless booked and paid.
    pub expires_at: DateTime<Utc>,
    pub extensions_left: i32,
    /// Sum of the seats' prices.
    pub total: Money,
}

/// Hold queries of the sale schema.
#[derive(Default)]
pub struct HoldsQuery;

#[Object]
impl HoldsQuery {
    /// The buyer's active hold in this event, if any.
    async fn my_hold(&self, ctx: &Context<'_>) -> ApiResult<Option<Hold>> {
        let (state, scope, buyer) = sale_context(ctx)?;
        let found = hold::Entity::find()
            .filter(hold::Column::EventId.eq(scope.event.id))
            .filter(hold::Column::UserId.eq(buyer.user_id))
            .filter(hold::Column::Status.eq(hold::HoldStatus::Active))
            .filter(hold::Column::HeldUntil.gt(Utc::now()))
            .one(state.db())
            .await
            .context("finding the buyer's hold")?;
        match found {
            Some(found) => Ok(Some(view(state, ctx, &found).await?)),
            None => Ok(None),
        }
    }
}

/// Hold mutations of the sale schema.
#[derive(Default)]
pub struct HoldsMutation;

#[Object]
impl HoldsMutation {
    /// Holds every one of these seats for the buyer, or none: if any is taken the answer is
    /// `SEAT_TAKEN` naming them, and nothing changes.
    async fn lock_seats(
        &self,
        ctx: &Context<'_>,
        seat_ids: Vec<ID>,
        idempotency_key: String,
    ) -> ApiResult<Hold> {
        let (state, scope, buyer) = sale_context(ctx)?;
        let ids = parse_seat_ids(&seat_ids)?;
        match take(state, &scope.event, buyer, &ids, Some(&idempotency_key)).await? {
            Locked::New(made) => {
                let categories = inventory::categories(state, scope.event.id).await?;
                let found = hold::Model {
                    id: made.id,
                    event_id: scope.event.id,
                    user_id: buyer.user_id,
                    status: hold::HoldStatus::Active,
                    seat_count: made.seats.len() as i32,
                    held_until: made.held_until,
                    extensions_used: 0,
                    created_at: Utc::now(),
                    ended_at: None,
                };
                hold_view(
                    &found,
                    &made.seats,
                    &categories,
                    state.config().hold_max_extensions,
                )
            }
            Locked::Existing(hold_id) => {
                let found = load(state, scope.event.id, buyer.user_id, hold_id).await?;
                view(state, ctx, &found).await
            }
        }
    }

    /// Lets the hold's seats go (and cancels its unpaid booking). True, also when it had
    /// already ended.
    async fn release_seats(&self, ctx: &Context<'_>, hold_id: ID) -> ApiResult<bool> {
        let (state, scope, buyer) = sale_context(ctx)?;
        let hold_id = parse_uuid(&hold_id, ApiError::HoldNotFound)?;
        release(state, scope.event.id, buyer.user_id, hold_id).await?;
        Ok(true)
    }

    /// Adds `HOLD_EXTENSION_SECS` to a live hold, once.
    async fn extend_hold(&self, ctx: &Context<'_>, hold_id: ID) -> ApiResult<Hold> {
        let (state, scope, buyer) = sale_context(ctx)?;
        let hold_id = parse_uuid(&hold_id, ApiError::HoldNotFound)?;
        let (found, seats) = extend(state, scope.event.id, buyer.user_id, hold_id).await?;
        let categories = inventory::categories(state, scope.event.id).await?;
        hold_view(
            &found,
            &seats,
            &categories,
            state.config().hold_max_extensions,
        )
    }
}
