//! A hold's life after it is taken: loading it, releasing it, extending it once, and how
//! the buyer sees it.

use std::sync::LazyLock;

use anyhow::Context as _;
use async_graphql::{Context, ID};
use chrono::Utc;
use entities::{booking::BookingStatus, hold, hold::HoldStatus, seat, seat_category};
use sea_orm::{
    ColumnTrait as _, ConnectionTrait as _, EntityTrait as _, QueryFilter as _, QueryOrder as _,
    Statement, TransactionTrait as _,
};
use uuid::Uuid;

use super::{Hold, HoldStatus as HoldView};
use crate::{
    context::ContextExt as _,
    db::literal,
    error::{ApiError, ApiResult},
    inventory,
    loaders::{EventCategories, RequestLoader},
    money::Money,
    seats::Seat,
    state::AppState,
};

/// $1 hold, $2 seconds, $3 most extensions: extends a live hold once more.
static EXTEND_HOLD: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE holds SET held_until = held_until + make_interval(secs => $2), \
             extensions_used = extensions_used + 1 \
         WHERE id = $1 AND status = {active} AND held_until > now() AND extensions_used < $3",
        active = literal(&HoldStatus::Active),
    )
});

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

/// Releases a hold of the buyer's (idempotent once it has ended).
pub async fn release(state: &AppState, event: i64, user: Uuid, hold_id: Uuid) -> ApiResult<()> {
    let found = load(state, event, user, hold_id).await?;
    if found.status == HoldStatus::Converted {
        return Err(ApiError::BadUserInput(
            "These seats are paid for: cancel the booking instead.".into(),
        ));
    }
    if found.status != HoldStatus::Active {
        return Ok(());
    }
    let tx = state.db().begin().await.context("starting releaseSeats")?;
    tx.execute_raw(Statement::from_sql_and_values(
        tx.get_database_backend(),
        "SELECT id FROM holds WHERE id = $1 FOR UPDATE",
        [hold_id.into()],
    ))
    .await
    .context("locking a hold")?;
    let changes =
        inventory::end_hold(&tx, hold_id, HoldStatus::Released, BookingStatus::Cancelled).await?;
    tx.commit().await.context("committing releaseSeats")?;
    inventory::publish(state, event, &changes).await;
    Ok(())
}

/// Extends a live hold once by the configured grace.
pub async fn extend(state: &AppState, event: i64, user: Uuid, hold_id: Uuid) -> ApiResult<()> {
    let found = load(state, event, user, hold_id).await?;
    if found.status != HoldStatus::Active || found.held_until <= Utc::now() {
        return Err(ApiError::HoldExpired);
    }
    if found.extensions_used >= state.config().hold_max_extensions {
        return Err(ApiError::ExtensionUsed);
    }
    let tx = state.db().begin().await.context("starting extendHold")?;
    let extended = tx
        .execute_raw(Statement::from_sql_and_values(
            tx.get_database_backend(),
            EXTEND_HOLD.as_str(),
            [
                hold_id.into(),
                (state.config().hold_extension_secs as f64).into(),
                state.config().hold_max_extensions.into(),
            ],
        ))
        .await
        .context("extending a hold")?;
    if extended.rows_affected() == 0 {
        // Lost a race with expiry or with another extension.
        return Err(ApiError::ExtensionUsed);
    }
    inventory::follow_hold(&tx, hold_id).await?;
    tx.commit().await.context("committing extendHold")?;
    Ok(())
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
