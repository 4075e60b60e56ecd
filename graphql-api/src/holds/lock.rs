//! Taking a hold: every seat or none, at most one live hold per fan, within the fan's cap.

use std::sync::LazyLock;

use anyhow::Context as _;
use entities::{booking::BookingStatus, event, hold, hold::HoldStatus};
use sea_orm::{
    ColumnTrait as _, ConnectionTrait as _, EntityTrait as _, QueryFilter as _, Statement,
    TransactionTrait as _,
};
use uuid::Uuid;

use crate::{
    db::{is_deadlock, is_unique_violation, literal},
    error::{ApiError, ApiResult},
    idempotency::Claim,
    inventory::{self, Changes},
    sale::Buyer,
    state::AppState,
};

/// $1 event, $2 fan: the fan's active holds, locked, and whether each still runs.
static OWN_ACTIVE_HOLDS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT id, held_until > now() AS live FROM holds \
         WHERE event_id = $1 AND user_id = $2 AND status = {active} FOR UPDATE",
        active = literal(&HoldStatus::Active),
    )
});

/// True for errors worth one more try (two transactions locked each other).
fn is_transient(error: &ApiError) -> bool {
    matches!(error, ApiError::Internal(cause) if is_deadlock(cause))
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
            OWN_ACTIVE_HOLDS.as_str(),
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
        changes.extend(
            inventory::end_hold(&tx, id, HoldStatus::Expired, BookingStatus::Expired).await?,
        );
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
        if is_unique_violation(&error, "holds_one_active_per_fan") {
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
    let held = inventory::hold_seats(&tx, event.id, hold_id, seat_ids).await?;
    if held.len() != seat_ids.len() {
        tx.rollback().await.context("rolling back lockSeats")?;
        return Err(inventory::refusal(state, event.id, seat_ids).await?);
    }
    if let Some(claim) = claim {
        claim.complete(&tx, hold_id).await?;
    }
    tx.commit().await.context("committing lockSeats")?;
    changes.extend(held);
    inventory::publish(state, event.id, &changes).await;
    Ok(hold_id)
}
