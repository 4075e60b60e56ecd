//! The admission ticker: every tick, for every gated event on sale, one atomic script admits
//! from the head of the queue within the shared rate and the cap, and one message tells
//! every instance. Any number of instances may run it: the script serializes them.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use anyhow::Context as _;
use chrono::Utc;
use fred::prelude::{HashesInterface as _, KeysInterface as _, PubsubInterface as _};
use sea_orm::{ConnectionTrait as _, Statement};
use tokio::sync::watch;

use super::{
    hub::{AdmittedFan, QueueMessage},
    lottery,
    store::{self, QueueKeys},
};
use crate::state::AppState;

/// What the ticker needs of an event.
#[derive(Clone, Debug)]
pub struct ActiveEvent {
    pub id: i64,
    pub opens_ms: i64,
    pub gate_enabled: bool,
}

/// The result of one admission tick for one event.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TickOutcome {
    /// `OK`, `PAUSED`, `PRESALE` or `NEEDS_DRAW`.
    pub code: String,
    pub serving: i64,
    pub expired: i64,
    pub skipped: i64,
    pub admitted: Vec<AdmittedFan>,
}

/// Runs the ticker until `stop` turns true.
pub async fn run(state: AppState, mut stop: watch::Receiver<bool>) {
    let tick = Duration::from_millis(state.config().queue_tick_ms.max(10));
    let mut interval = tokio::time::interval(tick);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut events: Vec<ActiveEvent> = Vec::new();
    let mut refreshed: Option<Instant> = None;
    let mut last_published: HashMap<i64, (i64, Instant)> = HashMap::new();
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
                }
                Err(error) => tracing::warn!(
                    error = format!("{error:#}"),
                    "listing events for the ticker failed"
                ),
            }
        }
        for event in events.iter().filter(|event| event.gate_enabled) {
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

/// Events whose queues may move, and the gate flag of every event into Redis for the gateway.
pub async fn active_events(state: &AppState) -> anyhow::Result<Vec<ActiveEvent>> {
    let db = state.db();
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT id, sale_opens_at, gate_enabled, status IN ('SCHEDULED', 'ON_SALE') AS open FROM events",
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
        gates.push((
            tokens::gate_key(state.keys().prefix(), id),
            if gate_enabled { "1" } else { "0" },
        ));
        if open {
            active.push(ActiveEvent {
                id,
                opens_ms: opens.timestamp_millis(),
                gate_enabled,
            });
        }
    }
    // One SET per event: on a cluster, keys of different events live in different slots.
    for (key, value) in gates {
        let _: () = state.redis().set(key, value, None, None, false).await?;
    }
    Ok(active)
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
    let keys = QueueKeys::new(state.keys(), event.id);
    let outcome = admit(state, &keys, event).await?;
    if outcome.code == "NEEDS_DRAW" {
        lottery::draw(state.db(), state.redis(), &keys, event.id).await?;
        return admit(state, &keys, event).await;
    }
    Ok(outcome)
}

async fn admit(
    state: &AppState,
    keys: &QueueKeys,
    event: &ActiveEvent,
) -> anyhow::Result<TickOutcome> {
    let config = state.config();
    let (rate, capacity) = limits(state, keys).await?;
    // The most this tick can admit: the bucket never holds more than a second's worth.
    let batch = (rate.max(1.0).ceil() as usize)
        .min(capacity.max(1) as usize)
        .min(10_000);
    let mut args = vec![
        event.opens_ms.to_string(),
        config.queue_admission_rate.to_string(),
        config.queue_admission_capacity.to_string(),
        (config.admission_ttl_secs * 1_000).to_string(),
        (config.queue_abandon_after_secs * 1_000).to_string(),
        keys.admission_prefix.clone(),
        (batch * 4 + 100).to_string(),
    ];
    args.extend((0..batch).map(|_| uuid::Uuid::new_v4().simple().to_string()));
    let reply: Vec<String> = store::run(
        state.redis(),
        &store::ADMIT,
        vec![
            keys.wait.clone(),
            keys.adm.clone(),
            keys.tok.clone(),
            keys.alive.clone(),
            keys.meta.clone(),
            keys.out.clone(),
        ],
        args,
    )
    .await
    .context("running the admission script")?;
    parse_outcome(&reply)
}

/// The event's rate and capacity: an admin's setting in Redis, else the configured default.
async fn limits(state: &AppState, keys: &QueueKeys) -> anyhow::Result<(f64, u32)> {
    let (rate, capacity): (Option<f64>, Option<u32>) = state
        .redis()
        .hmget(&keys.meta, vec!["rate", "capacity"])
        .await?;
    Ok((
        rate.unwrap_or(state.config().queue_admission_rate),
        capacity.unwrap_or(state.config().queue_admission_capacity),
    ))
}

/// Reads the admission script's reply.
pub fn parse_outcome(reply: &[String]) -> anyhow::Result<TickOutcome> {
    let field = |index: usize| reply.get(index).cloned().unwrap_or_default();
    let number = |index: usize| field(index).parse::<i64>().unwrap_or(0);
    let admitted = reply
        .iter()
        .skip(4)
        .map(|entry| {
            let parts: Vec<&str> = entry.split('|').collect();
            match parts.as_slice() {
                [fan, jti, expires, number] => Ok(AdmittedFan {
                    fan: (*fan).to_owned(),
                    jti: (*jti).to_owned(),
                    expires_ms: expires.parse()?,
                    number: number.parse()?,
                }),
                _ => anyhow::bail!("malformed admission entry {entry:?}"),
            }
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(TickOutcome {
        code: field(0),
        serving: number(1),
        expired: number(2),
        skipped: number(3),
        admitted,
    })
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
    let keys = QueueKeys::new(state.keys(), event);
    type Meta = (Option<i64>, Option<String>, Option<String>, Option<f64>);
    let meta: Result<Meta, _> = state
        .redis()
        .hmget(&keys.meta, vec!["lottery", "drawn", "paused", "rate"])
        .await;
    let (lottery, drawn, paused, rate) = meta.unwrap_or_default();
    let message = QueueMessage {
        serving: outcome.serving,
        lottery: lottery.unwrap_or(0),
        drawn: drawn.as_deref() == Some("1"),
        paused: paused.as_deref() == Some("1"),
        rate: rate.unwrap_or(state.config().queue_admission_rate),
        admitted: outcome.admitted.clone(),
    };
    let Ok(json) = serde_json::to_string(&message) else {
        return;
    };
    let published: Result<i64, _> = state.redis().next().publish(&keys.channel, json).await;
    match published {
        Ok(_) => {
            last.insert(event, (outcome.serving, Instant::now()));
        }
        Err(error) => tracing::warn!(%error, event, "publishing queue update failed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_admission_reply_parses_into_its_fans() {
        let reply: Vec<String> = ["OK", "12", "1", "2", "aa|j1|1000|11", "bb|j2|1000|12"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();

        let outcome = parse_outcome(&reply).expect("parses");

        assert_eq!(outcome.code, "OK");
        assert_eq!(
            (outcome.serving, outcome.expired, outcome.skipped),
            (12, 1, 2)
        );
        assert_eq!(outcome.admitted.len(), 2);
        assert_eq!(
            outcome.admitted[1],
            AdmittedFan {
                fan: "bb".into(),
                jti: "j2".into(),
                expires_ms: 1000,
                number: 12
            }
        );
    }

    #[test]
    fn a_malformed_admission_entry_is_an_error() {
        let reply: Vec<String> = vec![
            "OK".into(),
            "1".into(),
            "0".into(),
            "0".into(),
            "broken".into(),
        ];
        assert!(parse_outcome(&reply).is_err());
    }
}
