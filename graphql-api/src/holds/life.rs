//! A hold's life after it is taken: loading it, releasing it, extending it once, and how
//! the buyer sees it.

use anyhow::Context as _;
use async_graphql::{Context, ID};
use chrono::Utc;
use entities::{hold, hold::HoldStatus, seat, seat_category};
use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _, QueryOrder as _};
use uuid::Uuid;

use super::{Hold, HoldStatus as HoldView};
use crate::{
    context::ContextExt as _,
    error::{ApiError, ApiResult},
    inventory::{
        self,
        hold_life::{Extended, Released, extend_hold, release_hold},
    },
    loaders::{EventCategories, RequestLoader},
    money::Money,
    seats::Seat,
    state::AppState,
};

/// Loads one of the buyer's holds in this event, or `HOLD_NOT_FOUND`.
pub async fn load(
    state: &AppState,
    event: i64,
    user: Uuid,
    hold_id: Uuid,
) -> ApiResult<hold::Model> {
    hold::Entity::find_by_id(hold_id)
        .filter(hold::Column::EventId.eq(event))
        .filter(hold::Column::UserId.eq(user))
        .one(state.db())
        .await
        .context("loading a hold")?
        .ok_or(ApiError::HoldNotFound)
}

/// Releases a hold of the buyer's (idempotent once it has ended), in one round trip.
pub async fn release(state: &AppState, event: i64, user: Uuid, hold_id: Uuid) -> ApiResult<()> {
    match release_hold(state, event, user, hold_id).await? {
        Released::Missing => Err(ApiError::HoldNotFound),
        Released::Ended(HoldStatus::Converted) => Err(ApiError::BadUserInput(
            "These seats are paid for: cancel the booking instead.".into(),
        )),
        Released::Ended(_) => Ok(()),
        Released::Now(changes) => {
            inventory::publish(state, event, &changes).await;
            Ok(())
        }
    }
}

/// Extends a live hold once by the configured grace, in one round trip; answers the hold as
/// it is now.
pub async fn extend(
    state: &AppState,
    event: i64,
    user: Uuid,
    hold_id: Uuid,
) -> ApiResult<(hold::Model, Vec<seat::Model>)> {
    match extend_hold(state, event, user, hold_id).await? {
        Extended::Missing => Err(ApiError::HoldNotFound),
        Extended::NotLive => Err(ApiError::HoldExpired),
        Extended::Used => Err(ApiError::ExtensionUsed),
        Extended::Now {
            held_until,
            extensions_used,
            seats,
        } => Ok((
            hold::Model {
                id: hold_id,
                event_id: event,
                user_id: user,
                status: HoldStatus::Active,
                seat_count: seats.len() as i32,
                held_until,
                extensions_used,
                created_at: Utc::now(),
                ended_at: None,
            },
            seats,
        )),
    }
}

/// A hold as the buyer sees it, with its seats and total.
pub async fn view(state: &AppState, ctx: &Context<'_>, found: &hold::Model) -> ApiResult<Hold> {
    let loader = ctx.api_data::<RequestLoader>()?;
    let categories = loader
        .load_one(EventCategories(found.event_id))
        .await?
        .unwrap_or_default();
    let seats = seat::Entity::find()
        .filter(seat::Column::HoldId.eq(found.id))
        .order_by_asc(seat::Column::Id)
        .all(state.db())
        .await
        .context("loading a hold's seats")?;
    hold_view(
        found,
        &seats,
        &categories,
        state.config().hold_max_extensions,
    )
}

/// Builds the GraphQL hold from rows.
pub fn hold_view(
    found: &hold::Model,
    seats: &[seat::Model],
    categories: &[seat_category::Model],
    max_extensions: i32,
) -> ApiResult<Hold> {
    let now = Utc::now();
    let mut total = 0;
    let mut currency = categories
        .first()
        .map_or("INR".to_owned(), |c| c.currency.clone());
    let mut views = Vec::with_capacity(seats.len());
    for row in seats {
        let view = Seat::from_model(row, categories, now)?;
        if let Some(category) = categories.iter().find(|c| c.id == row.category_id) {
            total += category.price_minor;
            currency = category.currency.clone();
        }
        views.push(view);
    }
    let expired = found.status == HoldStatus::Active && found.held_until <= now;
    Ok(Hold {
        id: ID(found.id.to_string()),
        status: if expired {
            HoldView::Expired
        } else {
            found.status.into()
        },
        seats: views,
        expires_at: found.held_until,
        extensions_left: (max_extensions - found.extensions_used).max(0),
        total: Money::new(total, &currency),
    })
}
