//! The controller, pure: from an event's limits, its bounds and the sale path's health, the
//! next limits and a reason a person can read. Multiplicative increase while healthy until the
//! first distress (slow start: a sale opens with a crowd at the door, and additive steps took
//! tens of seconds to find what the path can take), additive increase after it,
//! multiplicative cut on distress (AIMD), hold in between; never outside the bounds, at most
//! one change per interval, and an admin's pin always wins. The clock is an argument.

use serde::{Deserialize, Serialize};

use crate::queue_store::Supply;

/// Who sets an event's admission limits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Mode {
    /// The autopilot, between the bounds.
    #[default]
    Auto,
    /// An admin: the autopilot leaves the limits alone until told to resume.
    Pinned,
}

/// The admission limits in force.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Limits {
    /// Fans let in per second.
    pub rate: f64,
    /// Fans admitted at once (shoppers).
    pub capacity: u32,
}

/// The range the autopilot keeps each limit in.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bounds {
    pub min_rate: f64,
    pub max_rate: f64,
    pub min_capacity: u32,
    pub max_capacity: u32,
}

impl Bounds {
    /// `limits` moved inside the bounds.
    pub fn clamp(&self, limits: Limits) -> Limits {
        Limits {
            rate: limits
                .rate
                .clamp(self.min_rate, self.max_rate.max(self.min_rate)),
            capacity: limits
                .capacity
                .clamp(self.min_capacity, self.max_capacity.max(self.min_capacity)),
        }
    }
}

/// The sale path's health summed over every instance that reported recently.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Health {
    /// Instances whose reports are fresh.
    pub instances: u32,
    pub operations: u64,
    pub busy: u64,
    pub mutations: u64,
    /// The worst instance's p99 of sale mutations, in ms.
    pub p99_ms: u64,
    /// The worst instance's share of its Postgres pool in use.
    pub pool_pressure: f64,
}

impl Health {
    /// Share of sale answers that were `BUSY`.
    pub fn busy_share(&self) -> f64 {
        if self.operations == 0 {
            0.0
        } else {
            self.busy as f64 / self.operations as f64
        }
    }
}

/// What the queue itself shows: how full the cap is and how fast fans actually go in.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Observed {
    /// Fans admitted now.
    pub admitted: u64,
    /// Fans let in per second lately, when known.
    pub achieved_rate: Option<f64>,
    /// Whether seats are left to sell: while none is free nobody is admitted, so raising the
    /// limits would only let a crowd in at once when a seat comes back.
    pub supply: Supply,
    /// When the rate last stopped an admission tick with fans still waiting (ms).
    pub rate_hit_ms: Option<i64>,
    /// When the cap last stopped an admission tick with fans still waiting (ms).
    pub cap_hit_ms: Option<i64>,
}

/// How the controller reacts (from the configuration).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tuning {
    pub target_p99_ms: u64,
    pub interval_ms: i64,
    pub rate_step: f64,
    pub capacity_step: u32,
    /// Factor a healthy raise multiplies the limits by until the first distress (1: additive
    /// steps from the start).
    pub growth: f64,
    pub cut_factor: f64,
    pub busy_share: f64,
    pub pool_pressure: f64,
    pub min_samples: u64,
}

/// An event's autopilot before a decision.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Situation {
    pub mode: Mode,
    pub limits: Limits,
    pub bounds: Bounds,
    /// When the autopilot last changed the limits (ms), if ever.
    pub changed_ms: Option<i64>,
    /// When the autopilot last cut the limits on distress (ms), if ever.
    pub cut_ms: Option<i64>,
}

/// What the controller decided.
#[derive(Clone, Debug, PartialEq)]
pub struct Decision {
    pub limits: Limits,
    /// True when `limits` differ from the current ones.
    pub changed: bool,
    /// True when only the interval since the last change kept it from deciding (nothing new
    /// to say).
    pub waiting: bool,
    /// True when this is a cut on distress (raises are additive from then on).
    pub cut: bool,
    pub reason: String,
}

/// The share of the target p99 under which the sale path counts as healthy (between it and
/// the target, the autopilot holds: no flapping around the target).
const HEALTHY_SHARE_OF_TARGET: f64 = 0.75;

/// The share of the cap in use above which the cap is what limits admissions.
const CAP_IN_USE: f64 = 0.9;

/// Decides the next limits at `now_ms`.
pub fn decide(
    situation: &Situation,
    health: Option<&Health>,
    observed: &Observed,
    tuning: &Tuning,
    now_ms: i64,
) -> Decision {
    let current = situation.limits;
    let hold = |reason: String| Decision {
        limits: current,
        changed: false,
        waiting: false,
        cut: false,
        reason,
    };
    if situation.mode == Mode::Pinned {
        return hold(format!(
            "pinned by an admin: rate {}/s, cap {}",
            show(current.rate),
            current.capacity
        ));
    }
    let clamped = situation.bounds.clamp(current);
    if clamped != current {
        return change(current, clamped, "outside the bounds, moved inside");
    }
    if let Some(changed) = situation.changed_ms
        && now_ms - changed < tuning.interval_ms
    {
        return Decision {
            waiting: true,
            ..hold(format!(
                "waiting: last change {} ms ago, at most one per {} ms",
                now_ms - changed,
                tuning.interval_ms
            ))
        };
    }
    let Some(health) = health.filter(|health| health.instances > 0) else {
        return hold("no recent sale health reports: holding".to_owned());
    };
    let quiet = health.operations < tuning.min_samples;
    if quiet && !quiet_for_long(situation, tuning, now_ms) {
        return hold(format!(
            "too few sale operations to judge ({} < {}): holding",
            health.operations, tuning.min_samples
        ));
    }
    if let Some(symptom) = distress(health, tuning, quiet) {
        let base_rate = observed
            .achieved_rate
            .filter(|achieved| *achieved > 0.0)
            .map_or(current.rate, |achieved| achieved.min(current.rate));
        // Cutting a cap nobody fills changes nothing: cut from the shoppers there are.
        let base_capacity = current
            .capacity
            .min(observed.admitted.try_into().unwrap_or(u32::MAX));
        let next = situation.bounds.clamp(Limits {
            rate: cents(base_rate * tuning.cut_factor),
            capacity: (f64::from(base_capacity) * tuning.cut_factor).floor() as u32,
        });
        return Decision {
            cut: true,
            ..change(current, next, &format!("distress: {symptom}"))
        };
    }
    if observed.supply != Supply::OnSale {
        return hold(format!(
            "no seat is free ({}): nobody is admitted, holding",
            match observed.supply {
                Supply::SoldOut => "sold out",
                _ => "every unsold seat is in a cart",
            }
        ));
    }
    let healthy_p99 = (tuning.target_p99_ms as f64 * HEALTHY_SHARE_OF_TARGET) as u64;
    if health.busy > 0 || (!quiet && health.p99_ms > healthy_p99) {
        return hold(format!(
            "steady: p99 {} ms near the {} ms target: holding",
            health.p99_ms, tuning.target_p99_ms
        ));
    }
    // A limit binds when it stopped an admission tick lately with fans waiting, or by the
    // smoothed figures (which lag a raise by seconds). Before any admission the rate counts as
    // binding when the path is judged healthy; a quiet path needs the evidence (else a sale
    // not yet open would creep to its highest rate).
    let hit_lately = |hit: Option<i64>| hit.is_some_and(|at| now_ms - at <= tuning.interval_ms);
    let rate_binds = hit_lately(observed.rate_hit_ms)
        || match observed.achieved_rate {
            None => !quiet,
            Some(achieved) => achieved >= current.rate * CAP_IN_USE,
        };
    let cap_binds = hit_lately(observed.cap_hit_ms)
        || observed.admitted as f64 >= f64::from(current.capacity) * CAP_IN_USE;
    let growing = !quiet && situation.cut_ms.is_none() && tuning.growth > 1.0;
    let next = situation.bounds.clamp(Limits {
        rate: if rate_binds {
            let step = current.rate + tuning.rate_step;
            cents(if growing {
                step.max(current.rate * tuning.growth)
            } else {
                step
            })
        } else {
            current.rate
        },
        capacity: if cap_binds {
            let step = current.capacity.saturating_add(tuning.capacity_step);
            if growing {
                step.max((f64::from(current.capacity) * tuning.growth).ceil() as u32)
            } else {
                step
            }
        } else {
            current.capacity
        },
    });
    let why = if quiet {
        format!(
            "quiet: {} sale operations (< {}) and no distress for {} intervals",
            health.operations, tuning.min_samples, QUIET_INTERVALS
        )
    } else if growing {
        format!(
            "healthy: p99 {} ms < {} ms target, no distress yet (x{})",
            health.p99_ms,
            tuning.target_p99_ms,
            show(tuning.growth)
        )
    } else {
        format!(
            "healthy: p99 {} ms < {} ms target",
            health.p99_ms, tuning.target_p99_ms
        )
    };
    if next == current {
        return hold(format!(
            "{why}, but {}: holding",
            if !rate_binds && !cap_binds {
                "neither the rate nor the cap is what limits admissions"
            } else {
                "already at the upper bounds"
            }
        ));
    }
    change(current, next, &why)
}

/// Intervals the limits must have stood still before a quiet sale path (too few operations to
/// judge a p99) may raise them. Admitted fans reach the sale path seconds after admission, so
/// a quiet path right after a raise says nothing yet; a path still quiet that long after the
/// last change means the shoppers let in are not buying (browsing, or gone), and the cap, not
/// the database, holds fans back.
const QUIET_INTERVALS: i64 = 3;

/// True when the limits have stood for [`QUIET_INTERVALS`] intervals.
fn quiet_for_long(situation: &Situation, tuning: &Tuning, now_ms: i64) -> bool {
    situation
        .changed_ms
        .is_none_or(|changed| now_ms - changed >= tuning.interval_ms * QUIET_INTERVALS)
}

/// Why the sale path is in distress, if it is. A `quiet` window's p99 rests on too few
/// operations to mean anything (one slow payment would make it), so only its `BUSY` answers
/// and pool count.
fn distress(health: &Health, tuning: &Tuning, quiet: bool) -> Option<String> {
    if !quiet && health.p99_ms > tuning.target_p99_ms {
        return Some(format!(
            "p99 {} ms > {} ms target",
            health.p99_ms, tuning.target_p99_ms
        ));
    }
    if health.busy_share() > tuning.busy_share {
        return Some(format!(
            "{:.1}% of sale answers BUSY > {:.1}%",
            health.busy_share() * 100.0,
            tuning.busy_share * 100.0
        ));
    }
    if health.pool_pressure > tuning.pool_pressure {
        return Some(format!(
            "Postgres pool {:.0}% in use > {:.0}%",
            health.pool_pressure * 100.0,
            tuning.pool_pressure * 100.0
        ));
    }
    None
}

/// A change from `from` to `to`, described.
fn change(from: Limits, to: Limits, why: &str) -> Decision {
    let mut parts = Vec::new();
    if to.rate != from.rate {
        let verb = if to.rate > from.rate {
            "raising"
        } else {
            "cutting"
        };
        parts.push(format!(
            "{verb} rate {} -> {}/s",
            show(from.rate),
            show(to.rate)
        ));
    }
    if to.capacity != from.capacity {
        let verb = if to.capacity > from.capacity {
            "raising"
        } else {
            "cutting"
        };
        parts.push(format!("{verb} cap {} -> {}", from.capacity, to.capacity));
    }
    if parts.is_empty() {
        parts.push(format!(
            "already at the lower bounds (rate {}/s, cap {})",
            show(to.rate),
            to.capacity
        ));
    }
    Decision {
        limits: to,
        changed: to != from,
        waiting: false,
        cut: false,
        reason: format!("{why}, {}", parts.join(", ")),
    }
}

/// A rate rounded to hundredths: the limits stay readable (`14`, not `14.000000000000002`).
fn cents(rate: f64) -> f64 {
    (rate * 100.0).round() / 100.0
}

/// A rate as people read it.
fn show(rate: f64) -> String {
    format!("{}", cents(rate))
}
