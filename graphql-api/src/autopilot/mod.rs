//! The autopilot: admission that follows the sale's health, so no operator has to guess the
//! shopper cap.
//!
//! - Every instance records its sale answers ([`crate::sale_health`], fed by [`SaleHealthHook`]
//!   on the sale schema) and writes each window to Redis ([`report`]).
//! - The admission ticker calls [`adjust`] per event: the [`control`]ler reads every fresh
//!   window and moves the event's rate and cap between its bounds (AIMD), writing them where
//!   the admission script reads its limits, with the reason, unless an admin pinned them.
//! - Admins see the values and why in `queueStats`, set the bounds, pin, and resume ([`steer`]).

pub mod control;
#[cfg(test)]
mod control_tests;
pub mod report;
pub mod steer;

pub use self::{
    control::{Bounds, Decision, Health, Limits, Mode, Tuning},
    report::{SaleHealthHook, report_now},
    steer::{AutopilotView, adjust, pin, resume, set_bounds, view},
};
use crate::config::Config;

/// The controller's tuning from the configuration.
pub fn tuning(config: &Config) -> Tuning {
    Tuning {
        target_p99_ms: config.autopilot_target_p99_ms,
        interval_ms: i64::try_from(config.autopilot_interval_ms).unwrap_or(i64::MAX),
        rate_step: config.autopilot_rate_step,
        capacity_step: config.autopilot_capacity_step,
        growth: config.autopilot_growth.clamp(1.0, 4.0),
        cut_factor: config.autopilot_cut_factor.clamp(0.05, 0.99),
        busy_share: config.autopilot_busy_share,
        pool_pressure: config.autopilot_pool_pressure,
        min_samples: config.autopilot_min_samples,
    }
}

/// The bounds of an event no admin has set bounds for: at most what the queue is configured
/// to let in (`QUEUE_ADMISSION_RATE`, `QUEUE_ADMISSION_CAPACITY`) unless configured wider.
pub fn default_bounds(config: &Config) -> Bounds {
    Bounds {
        min_rate: config.autopilot_min_rate,
        max_rate: config
            .autopilot_max_rate
            .unwrap_or(config.queue_admission_rate),
        min_capacity: config.autopilot_min_capacity,
        max_capacity: config
            .autopilot_max_capacity
            .unwrap_or(config.queue_admission_capacity),
    }
}

/// How old a health window may be and still count: three report periods (at least 3 s), so
/// one late report does not blind the autopilot, and a stopped instance drops out soon.
pub fn fresh_for_ms(config: &Config) -> i64 {
    i64::try_from(config.autopilot_report_ms.saturating_mul(3).max(3_000)).unwrap_or(i64::MAX)
}
