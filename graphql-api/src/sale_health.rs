//! The sale path's health as one instance sees it, window by window: the latency of sale
//! mutations (an HDR histogram), how many sale answers were `BUSY` out of all, and the most
//! of the Postgres pool in use. The autopilot reports each window to Redis and steers the
//! admissions by what all instances report.

use std::{
    sync::{Arc, Mutex},
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
