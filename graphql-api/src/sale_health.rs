//! The sale path's health as one instance sees it, window by window: the latency of sale
//! mutations (an HDR histogram), how many sale answers were `BUSY` out of all, and the most
//! of the Postgres pool in use. The autopilot reports each window to Redis and steers the
//! admissions by what all instances report.

use std::{
    future::Future,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// Slowest latency the histogram tells apart (slower ones count as this), in microseconds.
const SLOWEST_US: u64 = 120_000_000;

/// One instance's window of sale health, as it is written to Redis.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct HealthReport {
    /// When the window closed (ms since the epoch, the reporter's clock).
    pub at_ms: i64,
    /// Sale operations answered in the window (queries and mutations).
    pub operations: u64,
    /// Of those, answers whose error code was `BUSY`.
    pub busy: u64,
    /// Sale mutations timed in the window.
    pub mutations: u64,
    /// Latency percentiles of the sale mutations, in ms (0 without mutations).
    pub p50_ms: u64,
    pub p99_ms: u64,
    pub max_ms: u64,
    /// The most pooled Postgres connections in use at once (as sampled), and the pool's bound.
    pub pool_in_use: u32,
    pub pool_max: u32,
}

impl HealthReport {
    /// Share of the pool in use at the window's busiest sample (0 without a pool bound).
    pub fn pool_pressure(&self) -> f64 {
        if self.pool_max == 0 {
            0.0
        } else {
            f64::from(self.pool_in_use) / f64::from(self.pool_max)
        }
    }
}

/// What is being counted for the current window.
struct Window {
    latency_us: Histogram<u64>,
    operations: u64,
    busy: u64,
    pool_in_use: u32,
}

impl Window {
    fn new() -> Self {
        Self {
            // Two significant digits: 1% resolution is plenty to compare a p99 to a target.
            latency_us: Histogram::new_with_bounds(1, SLOWEST_US, 2)
                .expect("constant bounds that hdrhistogram accepts"),
            operations: 0,
            busy: 0,
            pool_in_use: 0,
        }
    }
}

/// This instance's recorder: cheap to clone, one lock per recorded answer.
#[derive(Clone)]
pub struct SaleHealth {
    window: Arc<Mutex<Window>>,
}

impl Default for SaleHealth {
    fn default() -> Self {
        Self {
            window: Arc::new(Mutex::new(Window::new())),
        }
    }
}

tokio::task_local! {
    /// Time the current sale request spent waiting on a third party (the payment provider),
    /// in microseconds: not the sale path's own latency, so the autopilot does not read a
    /// slow provider as a sick database.
    static WAITING_ON_OTHERS: Arc<AtomicU64>;
}

/// Runs `request`, returning its output and how long it waited in [`waiting_on_others`].
pub async fn timing_others<F: Future>(request: F) -> (F::Output, Duration) {
    let waited = Arc::new(AtomicU64::new(0));
    let output = WAITING_ON_OTHERS.scope(waited.clone(), request).await;
    (
        output,
        Duration::from_micros(waited.load(Ordering::Relaxed)),
    )
}

/// Awaits `wait` (a call to a third party) and, inside [`timing_others`], counts its time
/// as not the sale path's own.
pub async fn waiting_on_others<F: Future>(wait: F) -> F::Output {
    // Tokio's clock, so tests with paused time see the wait they made.
    let started = tokio::time::Instant::now();
    let output = wait.await;
    let us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
    // Outside a timed request (a sweep, a test calling the logic) there is nothing to tell.
    let _ = WAITING_ON_OTHERS.try_with(|waited| waited.fetch_add(us, Ordering::Relaxed));
    output
}

impl SaleHealth {
    /// Counts one sale answer: `mutation_latency` for a mutation, whether it was `BUSY`.
    pub fn record(&self, mutation_latency: Option<Duration>, busy: bool) {
        let Ok(mut window) = self.window.lock() else {
            return;
        };
        window.operations += 1;
        window.busy += u64::from(busy);
        if let Some(latency) = mutation_latency {
            let us = u64::try_from(latency.as_micros()).unwrap_or(SLOWEST_US);
            window.latency_us.saturating_record(us.clamp(1, SLOWEST_US));
        }
    }

    /// Notes how many pooled connections are in use right now (the window keeps the most).
    pub fn sample_pool(&self, in_use: u32) {
        if let Ok(mut window) = self.window.lock() {
            window.pool_in_use = window.pool_in_use.max(in_use);
        }
    }

    /// Closes the current window and starts the next: what it counted, as of `at_ms`.
    pub fn take(&self, at_ms: i64, pool_max: u32) -> HealthReport {
        let window = match self.window.lock() {
            Ok(mut window) => std::mem::replace(&mut *window, Window::new()),
            Err(_) => Window::new(),
        };
        let ms = |quantile: f64| {
            window
                .latency_us
                .value_at_quantile(quantile)
                .div_ceil(1_000)
        };
        let mutations = window.latency_us.len();
        HealthReport {
            at_ms,
            operations: window.operations,
            busy: window.busy,
            mutations,
            p50_ms: if mutations == 0 { 0 } else { ms(0.5) },
            p99_ms: if mutations == 0 { 0 } else { ms(0.99) },
            max_ms: if mutations == 0 {
                0
            } else {
                window.latency_us.max().div_ceil(1_000)
            },
            pool_in_use: window.pool_in_use,
            pool_max,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_wait_on_others_is_told_apart_inside_a_timed_request_and_ignored_outside() {
        let ((), waited) = timing_others(async {
            tokio::time::sleep(Duration::from_millis(5)).await;
            waiting_on_others(tokio::time::sleep(Duration::from_millis(1_500))).await;
        })
        .await;
        // Paused time moves only by the sleeps; the request's own 5 ms are not counted.
        assert!(
            waited >= Duration::from_millis(1_500) && waited < Duration::from_millis(1_505),
            "{waited:?}"
        );
        // Outside a timed request, a wait is simply awaited.
        assert_eq!(waiting_on_others(async { 7 }).await, 7);
    }

    #[test]
    fn a_window_reports_its_percentiles_and_busy_answers_then_starts_afresh() {
        let health = SaleHealth::default();
        for ms in 1..=100 {
            health.record(Some(Duration::from_millis(ms)), false);
        }
        health.record(None, true);
        health.sample_pool(7);
        health.sample_pool(3);

        let report = health.take(5_000, 10);
        let next = health.take(6_000, 10);

        assert_eq!(
            (report.operations, report.busy, report.mutations),
            (101, 1, 100)
        );
        assert!((98..=100).contains(&report.p99_ms), "{report:?}");
        assert!((49..=51).contains(&report.p50_ms), "{report:?}");
        assert_eq!(report.pool_in_use, 7);
        assert!((report.pool_pressure() - 0.7).abs() < 1e-9);
        assert_eq!(next.operations, 0);
        assert_eq!(next.p99_ms, 0);
    }
}
