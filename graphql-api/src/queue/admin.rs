//! What admins see of and do to an event's queue: its counters, pausing, the admission rate
//! and cap (pinned, or steered by the autopilot within bounds), revoking an admission, and
//! the event's gate.

use anyhow::Context as _;
use async_graphql::ID;
use chrono::Utc;
use entities::event;
use sea_orm::{ConnectionTrait as _, Statement};
use uuid::Uuid;

use super::{LotteryDraw, QueueStats, line};
use crate::{
    autopilot::{self, Bounds},
    error::{ApiError, ApiResult},
    queue_store::{self, Head, OutReason, Place, Setting},
    state::AppState,
};

/// The admin view of an event's queue.
pub async fn stats(state: &AppState, event: &event::Model) -> ApiResult<QueueStats> {
    let keys = state.keys().queue(event.id);
    let counters = queue_store::counters(state.redis(), &keys).await?;
    let now = Utc::now();
    let autopilot = autopilot::view(state, event.id, now.timestamp_millis()).await?;
    let oldest_wait_seconds = match queue_store::head(state.redis(), &keys).await? {
        Head::Empty => None,
        Head::Lottery => Some((now - event.sale_opens_at).num_seconds().max(0)),
        Head::Fifo { joined_ms } => {
            joined_ms.map(|ms| ((now.timestamp_millis() - ms) / 1_000).max(0))
        }
    };
    Ok(QueueStats {
        event_id: ID(event.id.to_string()),
        waiting: counters.waiting,
        presale: counters.presale,
        admitted: counters.admitted,
        abandoned: counters.abandoned,
        expired: counters.expired,
        admitted_total: counters.admitted_total,
        now_serving: counters.serving,
        paused: counters.paused,
        supply: counters.supply.into(),
        admission_rate: counters.rate.unwrap_or(state.config().queue_admission_rate),
        admission_capacity: counters
            .capacity
            .unwrap_or(i64::from(state.config().queue_admission_capacity)),
        achieved_admission_rate: autopilot.achieved_rate,
        autopilot: autopilot.into(),
        oldest_wait_seconds,
        lottery: lottery_draw(state, event.id).await?,
    })
}

/// The lottery's audit record, once drawn.
async fn lottery_draw(state: &AppState, event: i64) -> ApiResult<Option<LotteryDraw>> {
    let db = state.db();
    let draw = db
        .query_one_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            "SELECT seed, fan_count, drawn_at FROM lottery_draws WHERE event_id = $1",
            [event.into()],
        ))
        .await
        .context("reading the lottery draw")?;
    let Some(row) = draw else {
        return Ok(None);
    };
    Ok(Some(LotteryDraw {
        seed: row.try_get("", "seed").context("seed")?,
        fans: i64::from(row.try_get::<i32>("", "fan_count").context("fan_count")?),
        drawn_at: row.try_get("", "drawn_at").context("drawn_at")?,
    }))
}

/// Refuses a setting outside its bounds (before anything else is looked at).
pub fn check(setting: Setting) -> ApiResult<Setting> {
    match setting {
        Setting::Rate(rate) if !(0.01..=100_000.0).contains(&rate) || !rate.is_finite() => Err(
            ApiError::BadUserInput("`perSecond` must be between 0.01 and 100000.".into()),
        ),
        Setting::Capacity(capacity) if !(0..=1_000_000).contains(&capacity) => Err(
            ApiError::BadUserInput("`capacity` must be between 0 and 1000000.".into()),
        ),
        _ => Ok(setting),
    }
}

/// Stores an admin's setting and answers the queue's counters after it. A rate or cap pins
/// the event's limits: the autopilot leaves them until resumed.
pub async fn set(
    state: &AppState,
    event: &event::Model,
    setting: Setting,
) -> ApiResult<QueueStats> {
    match setting {
        Setting::Rate(rate) => return pin(state, event, Some(rate), None).await,
        Setting::Capacity(capacity) => {
            return pin(state, event, None, Some(capacity.unsigned_abs())).await;
        }
        Setting::Paused(_) => {
            queue_store::set(state.redis(), &state.keys().queue(event.id), setting).await?
        }
    }
    stats(state, event).await
}

/// Pins the event's rate and cap (an absent value keeps the one in force).
pub async fn pin(
    state: &AppState,
    event: &event::Model,
    rate: Option<f64>,
    capacity: Option<u32>,
) -> ApiResult<QueueStats> {
    let now_ms = Utc::now().timestamp_millis();
    autopilot::pin(state, event.id, rate, capacity, now_ms).await?;
    stats(state, event).await
}

/// Hands the event's rate and cap back to the autopilot.
pub async fn resume(state: &AppState, event: &event::Model) -> ApiResult<QueueStats> {
    autopilot::resume(state, event.id, Utc::now().timestamp_millis()).await?;
    stats(state, event).await
}

/// Sets the range the autopilot keeps the event's rate and cap in (checked by the caller).
pub async fn set_bounds(
    state: &AppState,
    event: &event::Model,
    bounds: Bounds,
) -> ApiResult<QueueStats> {
    autopilot::set_bounds(state, event.id, bounds, Utc::now().timestamp_millis()).await?;
    stats(state, event).await
}

/// Ends a fan's admission now; `NOT_IN_QUEUE` unless they are admitted.
pub async fn revoke(state: &AppState, event: &event::Model, user_id: &ID) -> ApiResult<bool> {
    let user = Uuid::parse_str(&user_id.0)
        .map_err(|_| ApiError::UserNotFound(user_id.0.chars().take(40).collect()))?;
    let fan = tokens::store::fan_id(&user);
    let reply = line::exact(state, event.id, &fan).await?;
    if !matches!(reply.place, Place::Admitted(_)) {
        return Err(ApiError::NotInQueue);
    }
    line::leave(state, event.id, &fan, OutReason::Revoked).await
}

/// Switches an event's gate: in Postgres (the event's truth) and in Redis (for the gateway).
pub async fn set_gate(state: &AppState, event: i64, enabled: bool) -> ApiResult<()> {
    let db = state.db();
    db.execute_raw(Statement::from_sql_and_values(
        db.get_database_backend(),
        "UPDATE events SET gate_enabled = $2, updated_at = now() WHERE id = $1",
        [event.into(), enabled.into()],
    ))
    .await
    .context("switching the gate")?;
    queue_store::set_gate(state.redis(), state.keys(), event, enabled).await?;
    state.event_cache().invalidate(&event).await;
    Ok(())
}

/// Writes every open event's queue counters and limits into the metrics (when `/metrics` is
/// scraped: a few Redis reads per event, never on a fan's path).
pub async fn export_metrics(state: &AppState) -> ApiResult<()> {
    use crate::metrics::METRICS;
    let config = state.config();
    let (events, _) = super::ticker::list_events(state).await?;
    for event in events {
        let keys = state.keys().queue(event.id);
        let counters = queue_store::counters(state.redis(), &keys).await?;
        let pace = queue_store::message_meta(state.redis(), &keys).await?.pace;
        let id = event.id.to_string();
        for (fans, count) in [
            ("waiting", counters.waiting),
            ("presale", counters.presale),
            ("admitted", counters.admitted),
        ] {
            METRICS
                .queue_fans
                .with_label_values(&[id.as_str(), fans])
                .set(count);
        }
        METRICS
            .queue_admitted
            .with_label_values(&[id.as_str()])
            .set(counters.admitted_total);
        for (measure, value) in [
            ("rate", counters.rate.unwrap_or(config.queue_admission_rate)),
            (
                "capacity",
                counters
                    .capacity
                    .unwrap_or(i64::from(config.queue_admission_capacity)) as f64,
            ),
            ("achieved", counters.achieved.unwrap_or(0.0)),
            // The ETA's forecast of the pace (0 before the first): what fans' waits use.
            ("eta_slow", pace.map_or(0.0, |pace| pace.slow)),
            ("eta_likely", pace.map_or(0.0, |pace| pace.likely)),
            ("eta_fast", pace.map_or(0.0, |pace| pace.fast)),
        ] {
            METRICS
                .queue_limits
                .with_label_values(&[id.as_str(), measure])
                .set(value);
        }
    }
    Ok(())
}
