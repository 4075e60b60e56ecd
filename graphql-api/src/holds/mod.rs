//! Holds on the sale schema: all-or-nothing `lockSeats`, `releaseSeats`, `extendHold`,
//! `myHold`, and the worker that releases holds that ran out ([`expiry`]).
//!
//! No seat is ever held twice because Postgres decides: one conditional `UPDATE` takes every
//! asked-for seat that is free (or whose hold ran out) and succeeds only if it took them all;
//! otherwise the transaction rolls back and nothing changes. The schema's foreign keys tie a
//! HELD seat to an ACTIVE hold of its event, so no code path can leave a seat half-held.

pub mod expiry;

use anyhow::Context as _;
use async_graphql::{Context, Enum, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entities::{event, hold, seat, seat_category};
use sea_orm::{
    ColumnTrait as _, ConnectionTrait, DatabaseTransaction, EntityTrait as _, QueryFilter as _,
    QueryOrder as _, Statement, TransactionTrait as _,
};
use serde_json::json;
use uuid::Uuid;

use crate::{
    context::ContextExt as _,
    error::{ApiError, ApiResult},
    idempotency::{self, Claim},
    loaders::{EventCategories, RequestLoader},
    money::Money,
    sale::{Buyer, SaleAuth},
    schema::SaleScope,
    seats::{Seat, live},
    state::AppState,
};

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
        let input = json!({ "event": scope.event.id, "seats": ids });
        let (event, ids) = (&scope.event, &ids);
        let hold_id = idempotency::once(
            state,
            buyer.user_id,
            &idempotency_key,
            "lockSeats",
            &input,
            "holdId",
            |claim| async move { lock_seats(state, event, buyer, ids, Some(&claim)).await },
        )
        .await?;
        let found = load(state, scope.event.id, buyer.user_id, hold_id).await?;
        view(state, ctx, &found).await
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
        extend(state, scope.event.id, buyer.user_id, hold_id).await?;
        let found = load(state, scope.event.id, buyer.user_id, hold_id).await?;
        view(state, ctx, &found).await
    }
}

/// The state, the event and the buyer of a sale request.
pub fn sale_context<'a>(
    ctx: &'a Context<'_>,
) -> ApiResult<(&'a AppState, &'a SaleScope, &'a Buyer)> {
    let state = ctx.api_data::<AppState>()?;
    let scope = ctx.api_data::<SaleScope>()?;
    let buyer = ctx.api_data::<SaleAuth>()?.buyer()?;
    Ok((state, scope, buyer))
}

/// Parses a client's id as a UUID, or answers `missing`.
pub fn parse_uuid(id: &ID, missing: ApiError) -> ApiResult<Uuid> {
    Uuid::parse_str(&id.0).map_err(|_| missing)
}

/// Parses seat ids: numeric, at least one, no repeats.
pub fn parse_seat_ids(ids: &[ID]) -> ApiResult<Vec<i64>> {
    if ids.is_empty() {
        return Err(ApiError::BadUserInput("Choose at least one seat.".into()));
    }
    // A set, not `Vec::contains`: a list of 50,000 ids must cost milliseconds, not seconds.
    let mut seen = std::collections::HashSet::with_capacity(ids.len());
    let mut parsed = Vec::with_capacity(ids.len());
    for id in ids {
        let seat =
            id.0.parse::<i64>()
                .map_err(|_| ApiError::SeatNotFound(id.0.chars().take(40).collect()))?;
        if !seen.insert(seat) {
            return Err(ApiError::BadUserInput(format!(
                "Seat {seat} appears twice in the list."
            )));
        }
        parsed.push(seat);
    }
    Ok(parsed)
}

/// Seats changed by a statement: `(id, new status, new version)`.
pub type Changes = Vec<(i64, seat::SeatStatus, i64)>;

async fn changed(
    tx: &impl ConnectionTrait,
    sql: &str,
    values: Vec<sea_orm::Value>,
    status: seat::SeatStatus,
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

/// Ends a hold: frees its seats, marks it `hold_status`, and marks its unpaid booking
/// `booking_status`. Returns the freed seats.
pub async fn end_hold(
    tx: &DatabaseTransaction,
    hold_id: Uuid,
    hold_status: &str,
    booking_status: &str,
) -> ApiResult<Changes> {
    // Seats first: the schema refuses to end a hold that seats still point at.
    let freed = changed(
        tx,
        "UPDATE seats SET status = 'AVAILABLE', hold_id = NULL, held_until = NULL, \
         version = version + 1, updated_at = now() WHERE hold_id = $1 RETURNING id, version",
        vec![hold_id.into()],
        seat::SeatStatus::Available,
    )
    .await?;
    tx.execute_raw(Statement::from_sql_and_values(
        tx.get_database_backend(),
        "UPDATE holds SET status = $2, ended_at = now() WHERE id = $1 AND status = 'ACTIVE'",
        [hold_id.into(), hold_status.into()],
    ))
    .await
    .context("ending a hold")?;
    tx.execute_raw(Statement::from_sql_and_values(
        tx.get_database_backend(),
        "UPDATE bookings SET status = $2, cancelled_at = now(), updated_at = now() \
         WHERE hold_id = $1 AND status IN ('PENDING_PAYMENT', 'PAYMENT_FAILED')",
        [hold_id.into(), booking_status.into()],
    ))
    .await
    .context("ending a hold's booking")?;
    Ok(freed)
}

/// True for errors worth one more try (two transactions locked each other).
fn is_transient(error: &ApiError) -> bool {
    matches!(error, ApiError::Internal(cause) if format!("{cause:#}").contains("deadlock detected"))
}

/// Holds `seat_ids` for `buyer`, all or nothing; returns the new hold's id. With a `claim`,
/// its idempotency key is recorded in the same transaction as the hold.
pub async fn lock_seats(
    state: &AppState,
    event: &event::Model,
    buyer: &Buyer,
    seat_ids: &[i64],
    claim: Option<&Claim>,
) -> ApiResult<Uuid> {
    let requested = seat_ids.len() as i64;
    if requested > buyer.cap {
        return Err(ApiError::HoldLimitExceeded {
            cap: buyer.cap,
            requested,
        });
    }
    let mut attempt = 0;
    loop {
        attempt += 1;
        match try_lock(state, event, buyer, seat_ids, claim).await {
            Err(error) if attempt < 3 && is_transient(&error) => continue,
            other => return other,
        }
    }
}

async fn try_lock(
    state: &AppState,
    event: &event::Model,
    buyer: &Buyer,
    seat_ids: &[i64],
    claim: Option<&Claim>,
) -> ApiResult<Uuid> {
    let db = state.db();
    let backend = db.get_database_backend();
    let tx = db.begin().await.context("starting lockSeats")?;
    let already: i64 = tx
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            "SELECT count(*) AS n FROM booking_seats bs JOIN bookings b ON b.id = bs.booking_id \
             WHERE b.event_id = $1 AND b.user_id = $2 AND bs.confirmed",
            [event.id.into(), buyer.user_id.into()],
        ))
        .await
        .context("counting the buyer's seats")?
        .map(|row| row.try_get::<i64>("", "n"))
        .transpose()
        .context("reading a count")?
        .unwrap_or(0);
    if already + seat_ids.len() as i64 > buyer.cap {
        return Err(ApiError::HoldLimitExceeded {
            cap: buyer.cap,
            requested: already + seat_ids.len() as i64,
        });
    }
    // A hold of the buyer's that ran out is ended here, so it never blocks a new one.
    let mut changes = Changes::new();
    let own = tx
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            "SELECT id, held_until > now() AS live FROM holds \
             WHERE event_id = $1 AND user_id = $2 AND status = 'ACTIVE' FOR UPDATE",
            [event.id.into(), buyer.user_id.into()],
        ))
        .await
        .context("finding the buyer's holds")?;
    for row in own {
        let id: Uuid = row.try_get("", "id").context("hold id")?;
        let live: bool = row.try_get("", "live").context("live")?;
        if live {
            return Err(ApiError::ActiveHoldExists { hold_id: id });
        }
        changes.extend(end_hold(&tx, id, "EXPIRED", "EXPIRED").await?);
    }
    let hold_id = Uuid::now_v7();
    let inserted = tx
        .execute_raw(Statement::from_sql_and_values(
            backend,
            "INSERT INTO holds (id, event_id, user_id, seat_count, held_until) \
             VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5))",
            [
                hold_id.into(),
                event.id.into(),
                buyer.user_id.into(),
                (seat_ids.len() as i32).into(),
                (state.config().hold_duration_secs as f64).into(),
            ],
        ))
        .await;
    if let Err(error) = inserted {
        // Another tab of the same fan won the race for the one active hold.
        if crate::accounts::is_unique_violation(&error, "holds_one_active_per_fan") {
            drop(tx);
            let existing = hold::Entity::find()
                .filter(hold::Column::EventId.eq(event.id))
                .filter(hold::Column::UserId.eq(buyer.user_id))
                .filter(hold::Column::Status.eq(hold::HoldStatus::Active))
                .one(db)
                .await
                .context("finding the winning hold")?;
            return Err(ApiError::ActiveHoldExists {
                hold_id: existing.map_or(hold_id, |h| h.id),
            });
        }
        return Err(anyhow::Error::new(error).context("creating a hold").into());
    }
    // The one statement that decides: every seat free (or its hold run out), or nothing.
    let held = changed(
        &tx,
        "UPDATE seats SET status = 'HELD', hold_id = $1, \
             held_until = (SELECT held_until FROM holds WHERE id = $1), \
             version = version + 1, updated_at = now() \
         WHERE event_id = $2 AND id = ANY($3) \
           AND (status = 'AVAILABLE' OR (status = 'HELD' AND held_until <= now())) \
         RETURNING id, version",
        vec![hold_id.into(), event.id.into(), seat_ids.to_vec().into()],
        seat::SeatStatus::Held,
    )
    .await?;
    if held.len() != seat_ids.len() {
        tx.rollback().await.context("rolling back lockSeats")?;
        return Err(refusal(state, event.id, seat_ids).await?);
    }
    if let Some(claim) = claim {
        claim.complete(&tx, hold_id).await?;
    }
    tx.commit().await.context("committing lockSeats")?;
    changes.extend(held);
    live::publish(state, event.id, &changes).await;
    Ok(hold_id)
}

/// Why seats could not be held: unknown ones first, else the taken ones.
async fn refusal(state: &AppState, event: i64, seat_ids: &[i64]) -> ApiResult<ApiError> {
    let db = state.db();
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            "SELECT id, (status = 'AVAILABLE' OR (status = 'HELD' AND held_until <= now())) AS free \
             FROM seats WHERE event_id = $1 AND id = ANY($2)",
            [event.into(), seat_ids.to_vec().into()],
        ))
        .await
        .context("explaining a refused hold")?;
    let mut known = Vec::new();
    let mut taken = Vec::new();
    for row in rows {
        let id: i64 = row.try_get("", "id").context("id")?;
        known.push(id);
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
    if found.status == hold::HoldStatus::Converted {
        return Err(ApiError::BadUserInput(
            "These seats are paid for: cancel the booking instead.".into(),
        ));
    }
    if found.status != hold::HoldStatus::Active {
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
    let changes = end_hold(&tx, hold_id, "RELEASED", "CANCELLED").await?;
    tx.commit().await.context("committing releaseSeats")?;
    live::publish(state, event, &changes).await;
    Ok(())
}

/// Extends a live hold once by the configured grace.
pub async fn extend(state: &AppState, event: i64, user: Uuid, hold_id: Uuid) -> ApiResult<()> {
    let found = load(state, event, user, hold_id).await?;
    if found.status != hold::HoldStatus::Active || found.held_until <= Utc::now() {
        return Err(ApiError::HoldExpired);
    }
    if found.extensions_used >= state.config().hold_max_extensions {
        return Err(ApiError::ExtensionUsed);
    }
    let tx = state.db().begin().await.context("starting extendHold")?;
    let extended = tx
        .execute_raw(Statement::from_sql_and_values(
            tx.get_database_backend(),
            "UPDATE holds SET held_until = held_until + make_interval(secs => $2), \
                 extensions_used = extensions_used + 1 \
             WHERE id = $1 AND status = 'ACTIVE' AND held_until > now() AND extensions_used < $3",
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
    tx.execute_raw(Statement::from_sql_and_values(
        tx.get_database_backend(),
        "UPDATE seats SET held_until = (SELECT held_until FROM holds WHERE id = $1), updated_at = now() \
         WHERE hold_id = $1",
        [hold_id.into()],
    ))
    .await
    .context("extending a hold's seats")?;
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
    let expired = found.status == hold::HoldStatus::Active && found.held_until <= now;
    Ok(Hold {
        id: ID(found.id.to_string()),
        status: if expired {
            HoldStatus::Expired
        } else {
            found.status.into()
        },
        seats: views,
        expires_at: found.held_until,
        extensions_left: (max_extensions - found.extensions_used).max(0),
        total: Money::new(total, &currency),
    })
}
