//! The sweeper: the instance's one background loop for what runs out. Every `HOLD_SWEEP_MS`
//! it releases holds whose time ran out (so seats come back within about that of expiry);
//! now and then it settles abandoned payments and forgets old idempotency keys. Any number of
//! instances may run it: each sweep takes its rows with `FOR UPDATE SKIP LOCKED` or settles
//! them under a row lock, so each is handled once.

use std::time::Duration;

use tokio::sync::watch;

use crate::{holds::expiry::sweep, idempotency, payments, state::AppState};

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
            match payments::sweep_abandoned(&state, abandon_after, 100).await {
                Ok(0) => {}
                Ok(settled) => tracing::warn!(settled, "settled abandoned payments as timed out"),
                Err(error) => {
                    tracing::warn!(error = format!("{error:#}"), "payment sweep failed");
                }
            }
        }
        if ticks.is_multiple_of(idempotency_every)
            && let Err(error) = idempotency::sweep(&state).await
        {
            tracing::warn!(%error, "idempotency sweep failed");
        }
    }
}

/// How many ticks of `tick` make about `period` (at least one).
fn ticks_per(period: Duration, tick: Duration) -> u64 {
    (period.as_millis() / tick.as_millis().max(1)).max(1) as u64
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
