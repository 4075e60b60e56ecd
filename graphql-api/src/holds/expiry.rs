//! The expiry worker: releases holds whose time ran out, within about `HOLD_SWEEP_MS` of
//! expiry, and publishes the freed seats. Any number of instances may run it: each takes
//! due holds with `FOR UPDATE SKIP LOCKED`, so a hold is released once, by one of them, and
//! none is missed. Now and then it also settles abandoned payments and forgets old
//! idempotency keys.

use std::{collections::HashMap, time::Duration};

use anyhow::Context as _;
use sea_orm::{ConnectionTrait as _, Statement, TransactionTrait as _};
use tokio::sync::watch;
use uuid::Uuid;

use super::{Changes, end_hold};
use crate::{seats::live, state::AppState};

/// Runs the sweep until `stop` turns true.
pub async fn run(state: AppState, mut stop: watch::Receiver<bool>) {
    let every = Duration::from_millis(state.config().hold_sweep_ms.max(10));
    let mut interval = tokio::time::interval(every);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut ticks: u64 = 0;
    let abandon_after = state.config().payment_abandon_after();
    // Often enough that an abandoned payment is settled within about 1.5x its threshold.
    let payment_every = ticks_per(abandon_after.min(Duration::from_secs(20)) / 2, every);
    let idempotency_every = ticks_per(Duration::from_secs(60), every);
    loop {
        tokio::select! {
            _ = interval.tick() => {}
            _ = stop.wait_for(|stopped| *stopped) => return,
        }
        match sweep(&state, 200).await {
            Ok(0) => {}
            Ok(released) => tracing::info!(released, "released holds that ran out"),
            Err(error) => tracing::warn!(error = format!("{error:#}"), "hold expiry sweep failed"),
        }
        ticks += 1;
        if ticks.is_multiple_of(payment_every) {
            match crate::payments::sweep_abandoned(&state, abandon_after, 100).await {
                Ok(0) => {}
                Ok(settled) => tracing::warn!(settled, "settled abandoned payments as timed out"),
                Err(error) => {
                    tracing::warn!(error = format!("{error:#}"), "payment sweep failed");
                }
            }
        }
        if ticks.is_multiple_of(idempotency_every)
            && let Err(error) = crate::idempotency::sweep(&state).await
        {
            tracing::warn!(%error, "idempotency sweep failed");
        }
    }
}

/// How many ticks of `tick` make about `period` (at least one).
fn ticks_per(period: Duration, tick: Duration) -> u64 {
    (period.as_millis() / tick.as_millis().max(1)).max(1) as u64
}

/// Releases up to `limit` holds that ran out; returns how many.
pub async fn sweep(state: &AppState, limit: i64) -> anyhow::Result<usize> {
    let tx = state.db().begin().await.context("starting a sweep")?;
    let due = tx
        .query_all_raw(Statement::from_sql_and_values(
            tx.get_database_backend(),
            "SELECT id, event_id FROM holds WHERE status = 'ACTIVE' AND held_until <= now() \
             ORDER BY held_until LIMIT $1 FOR UPDATE SKIP LOCKED",
            [limit.into()],
        ))
        .await
        .context("finding holds that ran out")?;
    let mut by_event: HashMap<i64, Changes> = HashMap::new();
    for row in &due {
        let id: Uuid = row.try_get("", "id")?;
        let event: i64 = row.try_get("", "event_id")?;
        let freed = end_hold(&tx, id, "EXPIRED", "EXPIRED")
            .await
            .map_err(|error| anyhow::anyhow!("{error}"))?;
        by_event.entry(event).or_default().extend(freed);
    }
    tx.commit().await.context("committing a sweep")?;
    for (event, changes) in by_event {
        live::publish(state, event, &changes).await;
    }
    Ok(due.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_per_rounds_down_and_never_gives_zero() {
        let tick = Duration::from_millis(250);
        assert_eq!(ticks_per(Duration::from_secs(60), tick), 240);
        assert_eq!(ticks_per(Duration::from_millis(600), tick), 2);
        assert_eq!(ticks_per(Duration::from_millis(10), tick), 1);
        assert_eq!(ticks_per(Duration::from_secs(1), Duration::ZERO), 1_000);
    }
}
