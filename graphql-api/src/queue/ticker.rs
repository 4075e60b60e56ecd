//! The admission ticker: every tick, for every gated event on sale, one atomic script admits
//! from the head of the queue within the shared rate and the cap, and one message tells
//! every instance. Any number of instances may run it: the script serializes them. About
//! once a second it also lets the [`crate::autopilot`] adjust each event's rate and cap (a
//! compare-and-set in Redis, so two tickers never both change them), and reads whether each
//! event has seats left to sell: while none is free it admits nobody, and the message tells
//! the waiting fans why.

use std::{
    collections::{HashMap, HashSet},
    sync::LazyLock,
    time::{Duration, Instant},
};

use anyhow::Context as _;
use chrono::Utc;
use entities::event::EventStatus;
use sea_orm::{ConnectionTrait as _, Statement};
use tokio::sync::watch;

use super::lottery;
pub use crate::queue_store::{TickCode, TickOutcome};
use crate::{
    db::literal,
    inventory,
    queue_store::{self, AdmitRequest, QueueMessage, Supply},
    state::AppState,
};

/// What the ticker needs of an event.
#[derive(Clone, Debug)]
pub struct ActiveEvent {
    pub id: i64,
    pub opens_ms: i64,
    pub gate_enabled: bool,
}

/// Runs the ticker until `stop` turns true.
pub async fn run(state: AppState, mut stop: watch::Receiver<bool>) {
    let tick = Duration::from_millis(state.config().queue_tick_ms.max(10));
    let mut interval = tokio::time::interval(tick);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut events: Vec<ActiveEvent> = Vec::new();
    let mut refreshed: Option<Instant> = None;
    let mut last_published: HashMap<i64, (i64, Instant)> = HashMap::new();
    let mut last_adjusted: Option<Instant> = None;
    let mut last_supply: HashMap<i64, Supply> = HashMap::new();
    let mut committed: HashSet<i64> = HashSet::new();
    loop {
        tokio::select! {
            _ = interval.tick() => {}
            _ = stop.wait_for(|stopped| *stopped) => return,
        }
        if refreshed.is_none_or(|at| at.elapsed() > Duration::from_secs(5)) {
            match active_events(&state).await {
                Ok(found) => {
                    events = found;
                    refreshed = Some(Instant::now());
                    commit_lotteries(&state, &events, &mut committed).await;
                }
                Err(error) => tracing::warn!(
                    error = format!("{error:#}"),
                    "listing events for the ticker failed"
                ),
            }
        }
        let second = last_adjusted.is_none_or(|at| at.elapsed() >= ADJUST_EVERY);
        let adjust = state.config().autopilot_enabled && second;
        if second {
            last_adjusted = Some(Instant::now());
        }
        for event in events.iter().filter(|event| event.gate_enabled) {
            if second && event.opens_ms <= Utc::now().timestamp_millis() {
                match check_supply(&state, event.id).await {
                    // A change is news for every waiting fan: publish on this tick.
                    Ok(supply) if last_supply.insert(event.id, supply) != Some(supply) => {
                        last_published.remove(&event.id);
                    }
                    Ok(_) => {}
                    Err(error) => tracing::warn!(
                        event = event.id,
                        error = format!("{error:#}"),
                        "reading what is left to sell failed"
                    ),
                }
            }
            if second
                && event.opens_ms <= Utc::now().timestamp_millis()
                && revise_forecast(&state, event.id).await
            {
                // Fans hear of a new forecast on this tick.
                last_published.remove(&event.id);
            }
            if adjust
                && let Err(error) =
                    crate::autopilot::adjust(&state, event.id, Utc::now().timestamp_millis()).await
            {
                tracing::warn!(event = event.id, %error, "autopilot adjustment failed");
            }
            match tick_event(&state, event).await {
                Ok(outcome) => {
                    publish_if_news(&state, event.id, &outcome, &mut last_published).await
                }
                Err(error) => tracing::warn!(
                    event = event.id,
                    error = format!("{error:#}"),
                    "admission tick failed"
                ),
            }
        }
    }
}

/// Commits the lottery seed of every event whose presale is still open (once per event and
/// instance: the first commitment stays), so that its hash is public before the close.
pub async fn commit_lotteries(
    state: &AppState,
    events: &[ActiveEvent],
    committed: &mut HashSet<i64>,
) {
    let now = Utc::now().timestamp_millis();
    for event in events {
        if event.opens_ms <= now || committed.contains(&event.id) {
            continue;
        }
        match lottery::commit(state.db(), event.id).await {
            Ok(_) => {
                committed.insert(event.id);
            }
            Err(error) => tracing::warn!(
                event = event.id,
                error = format!("{error:#}"),
                "committing the lottery seed failed"
            ),
        }
    }
}

/// How often this instance offers the autopilot an adjustment (it changes the limits at most
/// once per `AUTOPILOT_INTERVAL_MS` whatever the number of instances) and reads each event's
/// supply.
const ADJUST_EVERY: Duration = Duration::from_secs(1);

/// Every event, and whether its sale is still open.
static EVENTS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT id, sale_opens_at, gate_enabled, status IN ({scheduled}, {on_sale}) AS open FROM events",
        scheduled = literal(&EventStatus::Scheduled),
        on_sale = literal(&EventStatus::OnSale),
    )
});

/// Events whose queues may move, and the gate flag of every event into Redis for the gateway.
pub async fn active_events(state: &AppState) -> anyhow::Result<Vec<ActiveEvent>> {
    let (active, gates) = list_events(state).await?;
    // One SET per event: on a cluster, keys of different events live in different slots.
    for (id, enabled) in gates {
        queue_store::set_gate(state.redis(), state.keys(), id, enabled).await?;
    }
    Ok(active)
}

/// Events whose queues may move, and every event's gate flag (Postgres only).
pub async fn list_events(state: &AppState) -> anyhow::Result<(Vec<ActiveEvent>, Vec<(i64, bool)>)> {
    let db = state.db();
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            EVENTS.as_str(),
        ))
        .await
        .context("listing events")?;
    let mut active = Vec::new();
    let mut gates = Vec::new();
    for row in rows {
        let id: i64 = row.try_get("", "id")?;
        let opens: chrono::DateTime<Utc> = row.try_get("", "sale_opens_at")?;
        let gate_enabled: bool = row.try_get("", "gate_enabled")?;
        let open: bool = row.try_get("", "open")?;
        gates.push((id, gate_enabled));
        if open {
            active.push(ActiveEvent {
                id,
                opens_ms: opens.timestamp_millis(),
                gate_enabled,
            });
        }
    }
    Ok((active, gates))
}

/// Reads what `event` has left to sell and stores it where the admission script and the
/// queue's messages read it (every instance writes what it read: they agree within a second).
pub async fn check_supply(state: &AppState, event: i64) -> anyhow::Result<Supply> {
    let supply = inventory::supply::supply(state.db(), event).await?;
    queue_store::set_supply(state.redis(), &state.keys().queue(event), supply).await?;
    Ok(supply)
}

/// Revises the event's ETA forecast when one is due ([`crate::eta`]); true when this call
/// stored one.
pub async fn revise_forecast(state: &AppState, event: i64) -> bool {
    let keys = state.keys().queue(event);
    let now_ms = Utc::now().timestamp_millis();
    match queue_store::forecast::revise(state.redis(), &keys, now_ms).await {
        Ok(revised) => revised,
        Err(error) => {
            tracing::warn!(event, %error, "revising the wait forecast failed");
            false
        }
    }
}

/// One tick for one event, always followed by its message (tests drive ticks with this).
pub async fn tick_and_publish(
    state: &AppState,
    event: &ActiveEvent,
) -> anyhow::Result<TickOutcome> {
    let outcome = tick_event(state, event).await?;
    publish_if_news(state, event.id, &outcome, &mut HashMap::new()).await;
    Ok(outcome)
}

/// One admission step for one event (drawing the lottery first when the sale has opened).
pub async fn tick_event(state: &AppState, event: &ActiveEvent) -> anyhow::Result<TickOutcome> {
    let outcome = admit(state, event).await?;
    if outcome.code == TickCode::NeedsDraw {
        lottery::draw(
            state.db(),
            state.redis(),
            &state.keys().queue(event.id),
            event.id,
        )
        .await?;
        return admit(state, event).await;
    }
    Ok(outcome)
}

async fn admit(state: &AppState, event: &ActiveEvent) -> anyhow::Result<TickOutcome> {
    let config = state.config();
    let keys = state.keys().queue(event.id);
    let (rate, capacity) = queue_store::limits(state.redis(), &keys).await?;
    let rate = rate.unwrap_or(config.queue_admission_rate);
    let capacity = capacity.unwrap_or(config.queue_admission_capacity);
    // The most this tick can admit: the bucket never holds more than a second's worth.
    let batch = (rate.max(1.0).ceil() as usize)
        .min(capacity.max(1) as usize)
        .min(10_000);
    let request = AdmitRequest {
        opens_ms: event.opens_ms,
        default_rate: config.queue_admission_rate,
        default_capacity: config.queue_admission_capacity,
        ttl: Duration::from_secs(config.admission_ttl_secs.unsigned_abs()),
        abandon_after: Duration::from_secs(config.queue_abandon_after_secs),
        scan_limit: batch * 4 + 100,
        jtis: (0..batch)
            .map(|_| uuid::Uuid::new_v4().simple().to_string())
            .collect(),
    };
    queue_store::admit(state.redis(), &keys, request)
        .await
        .context("running the admission script")
}

async fn publish_if_news(
    state: &AppState,
    event: i64,
    outcome: &TickOutcome,
    last: &mut HashMap<i64, (i64, Instant)>,
) {
    let stale = last.get(&event).is_none_or(|(serving, at)| {
        *serving != outcome.serving || at.elapsed() >= Duration::from_secs(1)
    });
    if outcome.admitted.is_empty() && outcome.expired == 0 && !stale {
        return;
    }
    let keys = state.keys().queue(event);
    let meta = queue_store::message_meta(state.redis(), &keys)
        .await
        .unwrap_or_default();
    let message = QueueMessage {
        serving: outcome.serving,
        lottery: meta.lottery.unwrap_or(0),
        drawn: meta.drawn,
        paused: meta.paused,
        rate: meta.rate.unwrap_or(state.config().queue_admission_rate),
        admitted: outcome.admitted.clone(),
        achieved: meta.achieved,
        supply: meta.supply,
        pace: meta.pace,
    };
    match queue_store::publish(state.redis(), &keys, &message).await {
        Ok(()) => {
            last.insert(event, (outcome.serving, Instant::now()));
        }
        Err(error) => tracing::warn!(%error, event, "publishing queue update failed"),
    }
}
