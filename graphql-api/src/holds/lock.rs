//! Taking a hold: every seat or none, at most one live hold per fan, within the fan's cap.

use std::sync::LazyLock;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use entities::{booking::BookingStatus, event, hold, hold::HoldStatus, seat};
use sea_orm::{
    ColumnTrait as _, ConnectionTrait as _, EntityTrait as _, QueryFilter as _, Statement,
    TransactionTrait as _,
};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    db::{is_deadlock, is_unique_violation, literal},
    error::{ApiError, ApiResult},
    idempotency::{self, Claim},
    inventory::{
        self, Changes,
        take::{TakeRequest, Taken, take_hold},
    },
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

/// How long a fan whose hold lost three deadlocks in a row is asked to wait.
const DEADLOCKED_RETRY_MS: u64 = 500;

/// An error after the last try: deadlocks that kept recurring are contention, rolled back
/// each time, so the fan gets `BUSY` (retry with the same key), not `INTERNAL_ERROR`.
fn after_last_try(error: ApiError) -> ApiError {
    if is_transient(&error) {
        ApiError::Busy {
            retry_after_ms: DEADLOCKED_RETRY_MS,
        }
    } else {
        error
    }
}

/// A hold the one-statement path took: enough to answer without reading it back.
#[derive(Clone, Debug)]
pub struct NewHold {
    pub id: Uuid,
    pub held_until: DateTime<Utc>,
    pub seats: Vec<seat::Model>,
}

/// What `lockSeats` did.
#[derive(Clone, Debug)]
pub enum Locked {
    /// A new hold, taken in one round trip.
    New(NewHold),
    /// The hold a key's first request made (a replay), or one taken on the slow path.
    Existing(Uuid),
}

/// Holds `seat_ids` for `buyer`, all or nothing, in one statement (one round trip) on the
/// success path. `key` is the idempotency key, recorded in the same statement as the hold. The rare cases (a key seen before, a run-out hold of the
/// fan's to end first) take the transactional path, [`lock_seats`].
pub async fn take(
    state: &AppState,
    event: &event::Model,
    buyer: &Buyer,
    seat_ids: &[i64],
    key: Option<&str>,
) -> ApiResult<Locked> {
    let requested = seat_ids.len() as i64;
    if requested > buyer.cap {
        return Err(ApiError::HoldLimitExceeded {
            cap: buyer.cap,
            requested,
        });
    }
    if let Some(key) = key {
        idempotency::validate(key)?;
    }
    let input = canonical_input(event.id, seat_ids);
    let config = state.config();
    for attempt in 1..=3 {
        let hold_id = Uuid::now_v7();
        let request = TakeRequest {
            hold_id,
            event: event.id,
            user: buyer.user_id,
            seat_ids,
            hold_secs: config.hold_duration_secs as f64,
            cap: buyer.cap,
            key: key.map(|key| {
                (
                    key,
                    idempotency::fingerprint(OPERATION, &input),
                    config.idempotency_ttl_secs as f64,
                    json!({ "holdId": hold_id }),
                )
            }),
        };
        let taken = match take_hold(state, &request).await {
            Err(error) if attempt < 3 && is_transient(&error) => continue,
            other => other.map_err(after_last_try)?,
        };
        match taken {
            Taken::Held {
                held_until,
                seats,
                changes,
            } => {
                inventory::publish(state, event.id, &changes).await;
                return Ok(Locked::New(NewHold {
                    id: hold_id,
                    held_until,
                    seats,
                }));
            }
            Taken::OwnHold {
                hold_id,
                live: true,
            } => return Err(ApiError::ActiveHoldExists { hold_id }),
            Taken::OwnHold { hold_id, .. } => expire(state, event.id, hold_id).await?,
            Taken::OwnHoldRace => return Err(active_hold(state, event.id, buyer, hold_id).await?),
            Taken::OverCap { booked } => {
                return Err(ApiError::HoldLimitExceeded {
                    cap: buyer.cap,
                    requested: booked + requested,
                });
            }
            Taken::Unknown { seat_id } => return Err(ApiError::SeatNotFound(seat_id.to_string())),
            Taken::SeatsTaken {
                seat_ids: taken,
                racing,
            } => match key {
                // Taken while this ran, perhaps by this key's own first request: if so, it
                // answers as a replay. (A seat taken earlier by another fan costs no look.)
                Some(key) if racing && idempotency::recorded(state, buyer.user_id, key).await? => {
                    return slow(state, event, buyer, seat_ids, key).await;
                }
                _ => return Err(ApiError::SeatTaken { seat_ids: taken }),
            },
            Taken::KeySeen | Taken::KeyRace => match key {
                Some(key) => return slow(state, event, buyer, seat_ids, key).await,
                None => continue,
            },
        }
    }
    Err(anyhow::anyhow!("lockSeats gave up after three tries").into())
}

const OPERATION: &str = "lockSeats";

/// What the idempotency fingerprint of a `lockSeats` covers.
fn canonical_input(event: i64, seat_ids: &[i64]) -> Value {
    json!({ "event": event, "seats": seat_ids })
}

/// The transactional path, through the idempotency record's claim.
async fn slow(
    state: &AppState,
    event: &event::Model,
    buyer: &Buyer,
    seat_ids: &[i64],
    key: &str,
) -> ApiResult<Locked> {
    let input = canonical_input(event.id, seat_ids);
    let id = idempotency::once(
        state,
        buyer.user_id,
        key,
        OPERATION,
        &input,
        "holdId",
        |claim| async move { lock_seats(state, event, buyer, seat_ids, Some(&claim)).await },
    )
    .await?;
    Ok(Locked::Existing(id))
}

/// Ends a run-out hold of the fan's, so a new one can be taken.
async fn expire(state: &AppState, event: i64, hold_id: Uuid) -> ApiResult<()> {
    let tx = state.db().begin().await.context("starting to end a hold")?;
    let changes =
        inventory::end_hold(&tx, hold_id, HoldStatus::Expired, BookingStatus::Expired).await?;
    tx.commit().await.context("ending a run-out hold")?;
    inventory::publish(state, event, &changes).await;
    Ok(())
}

/// The fan's active hold that won a race with this one (another tab).
async fn active_hold(
    state: &AppState,
    event: i64,
    buyer: &Buyer,
    fallback: Uuid,
) -> ApiResult<ApiError> {
    let existing = hold::Entity::find()
        .filter(hold::Column::EventId.eq(event))
        .filter(hold::Column::UserId.eq(buyer.user_id))
        .filter(hold::Column::Status.eq(hold::HoldStatus::Active))
        .one(state.db())
        .await
        .context("finding the winning hold")?;
    Ok(ApiError::ActiveHoldExists {
        hold_id: existing.map_or(fallback, |h| h.id),
    })
}

/// Holds `seat_ids` for `buyer` in one transaction (the slow path, about six round trips);
/// returns the new hold's id. With a `claim`, its idempotency key is recorded in the same
/// transaction as the hold.
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
            other => return other.map_err(after_last_try),
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
