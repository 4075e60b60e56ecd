//! The autopilot as admins see and steer it: its part of `queueStats`, and the checks on
//! what admins may set (bounds, pinned values). The steering itself is [`crate::autopilot`].

use async_graphql::{Enum, SimpleObject};
use chrono::{DateTime, TimeZone as _, Utc};

use crate::{
    autopilot::{AutopilotView, Bounds, Mode},
    error::{ApiError, ApiResult},
};

/// Who sets an event's admission rate and shopper cap.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
pub enum AutopilotMode {
    /// The autopilot, between the bounds, from the sale path's health.
    Auto,
    /// An admin pinned the values; `resumeAutopilot` hands them back.
    Pinned,
    /// The autopilot is switched off (`AUTOPILOT_ENABLED=false`): the values stay as set.
    Off,
}

/// The sale path's health summed over the instances that reported recently.
#[derive(Clone, Debug, SimpleObject)]
pub struct SaleHealthSummary {
    /// API instances with a fresh report.
    pub instances: i32,
    /// Sale answers in their last windows.
    pub operations: i64,
    /// Of those, answers refused as `BUSY`.
    pub busy: i64,
    /// Sale mutations timed in those windows.
    pub mutations: i64,
    /// The worst instance's p99 latency of sale mutations, in ms.
    pub p99_ms: i64,
    /// The worst instance's share of its Postgres pool in use (0 to 1).
    pub pool_pressure: f64,
}

/// The autopilot of one event.
#[derive(Clone, Debug, SimpleObject)]
pub struct AutopilotStatus {
    pub mode: AutopilotMode,
    /// The rate in force, fans per second (the same as `admissionRate`).
    pub rate: f64,
    /// The cap in force, shoppers at once (the same as `admissionCapacity`).
    pub capacity: i64,
    /// The lowest rate the autopilot sets.
    pub min_rate: f64,
    /// The highest rate the autopilot sets.
    pub max_rate: f64,
    /// The lowest cap the autopilot sets.
    pub min_capacity: i64,
    /// The highest cap the autopilot sets.
    pub max_capacity: i64,
    /// Why the values are what they are: the last change, pin or resume.
    pub reason: Option<String>,
    /// What the autopilot concluded last when it held the values.
    pub status: Option<String>,
    /// When the values last changed (or the autopilot started watching the event).
    pub changed_at: Option<DateTime<Utc>>,
    /// Null when no instance reported recently.
    pub health: Option<SaleHealthSummary>,
}

impl From<AutopilotView> for AutopilotStatus {
    fn from(view: AutopilotView) -> Self {
        Self {
            mode: match (view.enabled, view.mode) {
                (_, Mode::Pinned) => AutopilotMode::Pinned,
                (false, Mode::Auto) => AutopilotMode::Off,
                (true, Mode::Auto) => AutopilotMode::Auto,
            },
            rate: view.limits.rate,
            capacity: i64::from(view.limits.capacity),
            min_rate: view.bounds.min_rate,
            max_rate: view.bounds.max_rate,
            min_capacity: i64::from(view.bounds.min_capacity),
            max_capacity: i64::from(view.bounds.max_capacity),
            reason: view.reason,
            status: view.status,
            changed_at: view
                .changed_ms
                .and_then(|ms| Utc.timestamp_millis_opt(ms).single()),
            health: view.health.map(|health| SaleHealthSummary {
                instances: i32::try_from(health.instances).unwrap_or(i32::MAX),
                operations: i64::try_from(health.operations).unwrap_or(i64::MAX),
                busy: i64::try_from(health.busy).unwrap_or(i64::MAX),
                mutations: i64::try_from(health.mutations).unwrap_or(i64::MAX),
                p99_ms: i64::try_from(health.p99_ms).unwrap_or(i64::MAX),
                pool_pressure: health.pool_pressure,
            }),
        }
    }
}

/// The admission rates admins may set, per second.
const RATES: std::ops::RangeInclusive<f64> = 0.01..=100_000.0;
/// The shopper caps admins may set.
const CAPACITIES: std::ops::RangeInclusive<i32> = 0..=1_000_000;

/// A rate an admin sent, checked.
pub fn check_rate(name: &str, rate: f64) -> ApiResult<f64> {
    if rate.is_finite() && RATES.contains(&rate) {
        Ok(rate)
    } else {
        Err(ApiError::BadUserInput(format!(
            "`{name}` must be between 0.01 and 100000."
        )))
    }
}

/// A cap an admin sent, checked.
pub fn check_capacity(name: &str, capacity: i32) -> ApiResult<u32> {
    if CAPACITIES.contains(&capacity) {
        Ok(capacity.unsigned_abs())
    } else {
        Err(ApiError::BadUserInput(format!(
            "`{name}` must be between 0 and 1000000."
        )))
    }
}

/// Bounds an admin sent, checked: each value in range, each minimum at most its maximum.
pub fn check_bounds(
    min_rate: f64,
    max_rate: f64,
    min_capacity: i32,
    max_capacity: i32,
) -> ApiResult<Bounds> {
    let bounds = Bounds {
        min_rate: check_rate("minRate", min_rate)?,
        max_rate: check_rate("maxRate", max_rate)?,
        min_capacity: check_capacity("minCapacity", min_capacity)?,
        max_capacity: check_capacity("maxCapacity", max_capacity)?,
    };
    if bounds.min_rate > bounds.max_rate {
        return Err(ApiError::BadUserInput(
            "`minRate` must not be above `maxRate`.".into(),
        ));
    }
    if bounds.min_capacity > bounds.max_capacity {
        return Err(ApiError::BadUserInput(
            "`minCapacity` must not be above `maxCapacity`.".into(),
        ));
    }
    Ok(bounds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_out_of_range_or_upside_down_are_bad_input() {
        for (min_rate, max_rate, min_capacity, max_capacity) in [
            (5.0, 1.0, 10, 100),
            (1.0, 5.0, 100, 10),
            (-1.0, 5.0, 10, 100),
            (1.0, f64::NAN, 10, 100),
            (1.0, f64::INFINITY, 10, 100),
            (1.0, 5.0, -10, 100),
            (1.0, 5.0, 10, 2_000_000),
        ] {
            let checked = check_bounds(min_rate, max_rate, min_capacity, max_capacity);
            assert!(
                matches!(checked, Err(ApiError::BadUserInput(_))),
                "{min_rate} {max_rate} {min_capacity} {max_capacity}: {checked:?}"
            );
        }
        assert!(check_bounds(1.0, 1.0, 0, 0).is_ok());
    }
}
