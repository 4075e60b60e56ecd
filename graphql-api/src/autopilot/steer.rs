//! Steering one event: an adjustment (read the event and every fresh health window, decide,
//! write if no one else wrote first), what admins see, and what they do (bounds, pin,
//! resume). The clock is always an argument, so tests drive adjustments without sleeping.

use crate::{
    autopilot::{
        Bounds, Decision, Health, Limits, Mode, control, default_bounds, fresh_for_ms, tuning,
    },
    error::ApiResult,
    queue_store::{
        self,
        autopilot::{self as store, AutopilotRecord, AutopilotWrite},
    },
    sale_health::HealthReport,
    state::AppState,
};

/// An event's autopilot as admins see it.
#[derive(Clone, Debug, PartialEq)]
pub struct AutopilotView {
    /// False when `AUTOPILOT_ENABLED` is off: the limits stay as configured or set.
    pub enabled: bool,
    pub mode: Mode,
    /// The limits in force.
    pub limits: Limits,
    pub bounds: Bounds,
    /// Why the limits are what they are (the last change, pin or resume), if anything did.
    pub reason: Option<String>,
    /// The latest decision, when it held the limits.
    pub status: Option<String>,
    pub changed_ms: Option<i64>,
    /// The sale path's health over every instance that reported recently.
    pub health: Option<Health>,
    /// Fans let in per second lately (smoothed), once any were.
    pub achieved_rate: Option<f64>,
}

/// Sums fresh windows: counts add up, the worst instance's p99 and pool pressure count.
pub fn aggregate(reports: &[HealthReport]) -> Option<Health> {
    if reports.is_empty() {
        return None;
    }
    Some(
        reports
            .iter()
            .fold(Health::default(), |sum, report| Health {
                instances: sum.instances + 1,
                operations: sum.operations + report.operations,
                busy: sum.busy + report.busy,
                mutations: sum.mutations + report.mutations,
                p99_ms: sum.p99_ms.max(report.p99_ms),
                pool_pressure: sum.pool_pressure.max(report.pool_pressure()),
            }),
    )
}

/// The event's record, the limits in force and its bounds.
struct Current {
    record: AutopilotRecord,
    mode: Mode,
    limits: Limits,
    bounds: Bounds,
}

async fn current(state: &AppState, event: i64) -> ApiResult<Current> {
    let config = state.config();
    let record = store::read(state.redis(), state.keys(), event).await?;
    let (rate, capacity) = queue_store::limits(state.redis(), &state.keys().queue(event)).await?;
    let defaults = default_bounds(config);
    Ok(Current {
        mode: match record.mode.as_deref() {
            Some("PINNED") => Mode::Pinned,
            _ => Mode::Auto,
        },
        limits: Limits {
            rate: rate.unwrap_or(config.queue_admission_rate),
            capacity: capacity.unwrap_or(config.queue_admission_capacity),
        },
        bounds: Bounds {
            min_rate: record.min_rate.unwrap_or(defaults.min_rate),
            max_rate: record.max_rate.unwrap_or(defaults.max_rate),
            min_capacity: record.min_capacity.unwrap_or(defaults.min_capacity),
            max_capacity: record.max_capacity.unwrap_or(defaults.max_capacity),
        },
        record,
    })
}

/// Health over the windows fresh at `now_ms`.
async fn health(state: &AppState, now_ms: i64) -> ApiResult<Option<Health>> {
    let fresh_since = now_ms - fresh_for_ms(state.config());
    let reports = store::read_health(state.redis(), state.keys(), fresh_since).await?;
    Ok(aggregate(&reports))
}

/// One adjustment of `event` at `now_ms`: decides, and writes the new limits and why unless
/// another instance wrote first (then its decision stands). An event seen for the first
/// time is only watched: its first change comes an interval later.
pub async fn adjust(state: &AppState, event: i64, now_ms: i64) -> ApiResult<Decision> {
    let current = current(state, event).await?;
    if !state.config().autopilot_enabled {
        return Ok(Decision {
            limits: current.limits,
            changed: false,
            waiting: false,
            cut: false,
            reason: "the autopilot is off (AUTOPILOT_ENABLED=false): holding".to_owned(),
        });
    }
    let health = health(state, now_ms).await?;
    let queue = store::observed(state.redis(), state.keys(), event).await?;
    let first_sight = current.record.changed_ms.is_none();
    let situation = control::Situation {
        mode: current.mode,
        limits: current.limits,
        bounds: current.bounds,
        changed_ms: Some(current.record.changed_ms.unwrap_or(now_ms)),
        cut_ms: current.record.cut_ms,
    };
    let observed = control::Observed {
        admitted: queue.admitted,
        achieved_rate: queue.achieved.filter(|rate| *rate >= 0.01),
        supply: queue.supply,
        rate_hit_ms: queue.rate_hit_ms,
        cap_hit_ms: queue.cap_hit_ms,
    };
    let decision = control::decide(
        &situation,
        health.as_ref(),
        &observed,
        &tuning(state.config()),
        now_ms,
    );
    let mut change = AutopilotWrite {
        expected_version: Some(current.record.version),
        ..AutopilotWrite::default()
    };
    if decision.changed {
        change.rate = Some(decision.limits.rate);
        change.capacity = Some(decision.limits.capacity);
        change.fields = vec![
            ("reason", decision.reason.clone()),
            ("changed_ms", now_ms.to_string()),
            ("status", String::new()),
        ];
        if decision.cut {
            change.fields.push(("cut_ms", now_ms.to_string()));
        }
    } else if first_sight {
        change.fields = vec![
            ("changed_ms", now_ms.to_string()),
            ("status", decision.reason.clone()),
        ];
    } else if !decision.waiting
        && current.mode == Mode::Auto
        && current.record.status.as_deref() != Some(decision.reason.as_str())
    {
        change.fields = vec![("status", decision.reason.clone())];
    } else {
        return Ok(decision);
    }
    let written = store::write(state.redis(), state.keys(), event, change).await?;
    if written && decision.changed {
        tracing::info!(
            event,
            rate = decision.limits.rate,
            capacity = decision.limits.capacity,
            reason = %decision.reason,
            "autopilot changed the admission limits"
        );
    }
    Ok(decision)
}

/// What admins see of an event's autopilot at `now_ms` (reads only).
pub async fn view(state: &AppState, event: i64, now_ms: i64) -> ApiResult<AutopilotView> {
    let current = current(state, event).await?;
    let health = health(state, now_ms).await?;
    let achieved = store::observed(state.redis(), state.keys(), event)
        .await?
        .achieved;
    Ok(AutopilotView {
        enabled: state.config().autopilot_enabled,
        mode: current.mode,
        limits: current.limits,
        bounds: current.bounds,
        reason: current.record.reason.filter(|reason| !reason.is_empty()),
        status: current.record.status.filter(|status| !status.is_empty()),
        changed_ms: current.record.changed_ms,
        health,
        achieved_rate: achieved.filter(|rate| *rate >= 0.01),
    })
}

/// Sets an event's bounds (checked by the caller); limits outside them move inside at once
/// unless pinned or the autopilot is off.
pub async fn set_bounds(
    state: &AppState,
    event: i64,
    bounds: Bounds,
    now_ms: i64,
) -> ApiResult<()> {
    let current = current(state, event).await?;
    let clamped = bounds.clamp(current.limits);
    let mut change = AutopilotWrite {
        fields: vec![
            ("min_rate", bounds.min_rate.to_string()),
            ("max_rate", bounds.max_rate.to_string()),
            ("min_capacity", bounds.min_capacity.to_string()),
            ("max_capacity", bounds.max_capacity.to_string()),
        ],
        ..AutopilotWrite::default()
    };
    // With the autopilot off the bounds are only recorded: the limits stay as they are.
    if state.config().autopilot_enabled && current.mode == Mode::Auto && clamped != current.limits {
        change.rate = Some(clamped.rate);
        change.capacity = Some(clamped.capacity);
        change.fields.push((
            "reason",
            format!(
                "an admin set new bounds: rate {}/s, cap {} moved inside",
                clamped.rate, clamped.capacity
            ),
        ));
        change.fields.push(("changed_ms", now_ms.to_string()));
    }
    let cut = change.rate.is_some_and(|rate| rate < current.limits.rate)
        || change
            .capacity
            .is_some_and(|capacity| capacity < current.limits.capacity);
    store::write(state.redis(), state.keys(), event, change).await?;
    if cut {
        forget_forecast(state, event).await?;
    }
    Ok(())
}

/// An admin's cut may lengthen every wait at once: the ETA forecast starts over.
async fn forget_forecast(state: &AppState, event: i64) -> ApiResult<()> {
    crate::queue_store::forecast::forget(state.redis(), &state.keys().queue(event)).await
}

/// Pins an event's limits (an absent value keeps the one in force): the autopilot leaves
/// them alone until [`resume`].
pub async fn pin(
    state: &AppState,
    event: i64,
    rate: Option<f64>,
    capacity: Option<u32>,
    now_ms: i64,
) -> ApiResult<()> {
    let current = current(state, event).await?;
    let rate = rate.unwrap_or(current.limits.rate);
    let capacity = capacity.unwrap_or(current.limits.capacity);
    let change = AutopilotWrite {
        expected_version: None,
        rate: Some(rate),
        capacity: Some(capacity),
        fields: vec![
            ("mode", "PINNED".to_owned()),
            (
                "reason",
                format!("pinned by an admin: rate {rate}/s, cap {capacity}"),
            ),
            ("changed_ms", now_ms.to_string()),
            ("status", String::new()),
        ],
    };
    store::write(state.redis(), state.keys(), event, change).await?;
    if rate < current.limits.rate || capacity < current.limits.capacity {
        forget_forecast(state, event).await?;
    }
    Ok(())
}

/// Hands an event's limits back to the autopilot; its first change comes an interval later.
pub async fn resume(state: &AppState, event: i64, now_ms: i64) -> ApiResult<()> {
    let change = AutopilotWrite {
        fields: vec![
            ("mode", "AUTO".to_owned()),
            (
                "reason",
                "resumed by an admin: the autopilot steers from the limits in force".to_owned(),
            ),
            ("changed_ms", now_ms.to_string()),
            ("status", String::new()),
        ],
        ..AutopilotWrite::default()
    };
    store::write(state.redis(), state.keys(), event, change).await?;
    Ok(())
}
