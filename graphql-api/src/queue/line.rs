//! A fan's place in line: joining, leaving, an exact status, and what the fan sees of it
//! (the admission token once admitted). Redis holds the line ([`crate::queue_store`]).

use std::time::Duration;

use async_graphql::ID;
use chrono::{TimeZone as _, Utc};
use entities::event::{self, EventStatus};
use tokens::AdmissionClaims;
use uuid::Uuid;

use super::{Admission, EtaBand, QueueState, QueueStatus};
use crate::{
    auth::Identity,
    error::{ApiError, ApiResult},
    eta,
    live::{queue::Snapshot, seats as seat_changes},
    queue_store::{self, FanReply, LeaveOutcome, OutReason, Place, Supply},
    state::AppState,
};

/// Why an event's line takes nobody, if it does not.
pub(super) fn closed(event: &event::Model) -> Option<&'static str> {
    match event.status {
        EventStatus::Closed => Some("closed"),
        EventStatus::Cancelled => Some("cancelled"),
        EventStatus::SoldOut => Some("sold out"),
        EventStatus::Scheduled | EventStatus::OnSale => None,
    }
}

/// Joins the queue (idempotent per fan).
pub async fn join(
    state: &AppState,
    event: &event::Model,
    identity: &Identity,
) -> ApiResult<QueueStatus> {
    if let Some(reason) = closed(event) {
        return Err(ApiError::QueueClosed(reason.to_owned()));
    }
    if !event.gate_enabled {
        return Err(ApiError::QueueNotRequired);
    }
    let fan = identity.fan_key();
    let keys = state.keys().queue(event.id);
    let reply = queue_store::join(
        state.redis(),
        &keys,
        &fan,
        event.sale_opens_at.timestamp_millis(),
    )
    .await?;
    Ok(describe(state, event, &fan, &reply, None))
}

/// The fan's status with an exact rank.
pub async fn status(
    state: &AppState,
    event: &event::Model,
    identity: &Identity,
) -> ApiResult<QueueStatus> {
    let fan = identity.fan_key();
    let reply = exact(state, event.id, &fan).await?;
    Ok(describe(state, event, &fan, &reply, None))
}

/// Where `fan` stands, read exactly from Redis.
pub(super) async fn exact(state: &AppState, event: i64, fan: &str) -> ApiResult<FanReply> {
    queue_store::status(state.redis(), &state.keys().queue(event), fan).await
}

/// Leaves the line or ends the admission, recording `reason`; `NOT_IN_QUEUE` if neither.
pub async fn leave(state: &AppState, event: i64, fan: &str, reason: OutReason) -> ApiResult<bool> {
    let keys = state.keys().queue(event);
    let grace = match reason {
        OutReason::Booked => {
            Duration::from_secs(state.config().admission_grace_after_purchase_secs)
        }
        _ => Duration::ZERO,
    };
    match queue_store::leave(state.redis(), &keys, fan, reason, grace).await? {
        LeaveOutcome::Left => Ok(true),
        LeaveOutcome::Ended(record) => {
            // Sale subscriptions holding this admission close at once, on every instance.
            if let Some(record) = record {
                seat_changes::publish_revoked(state.redis(), state.keys(), event, &record.jti)
                    .await;
            }
            Ok(true)
        }
        LeaveOutcome::NotInLine => Err(ApiError::NotInQueue),
    }
}

/// Ends a fan's admission because they bought (frees their slot for the next fan).
pub async fn complete_admission(state: &AppState, event: i64, user: Uuid) -> ApiResult<()> {
    let fan = tokens::store::fan_id(&user);
    match leave(state, event, &fan, OutReason::Booked).await {
        Ok(_) | Err(ApiError::NotInQueue) => Ok(()),
        Err(error) => Err(error),
    }
}

/// Signs the admission token of a fan from its record: the same record always gives the
/// same token, so any instance can hand it out again.
pub fn admission(
    state: &AppState,
    event: &event::Model,
    fan: &str,
    jti: &str,
    expires_ms: i64,
) -> Admission {
    let ttl = state.config().admission_ttl_secs;
    let exp = expires_ms.div_euclid(1_000);
    let cap = u32::try_from(event.max_seats_per_fan).unwrap_or(1);
    let claims = AdmissionClaims::new(fan, event.id, jti, exp - ttl, ttl, cap);
    Admission {
        token: state.admission_keys().sign(&claims),
        expires_at: Utc.timestamp_opt(exp, 0).single().unwrap_or_default(),
        seat_cap: event.max_seats_per_fan,
        sale_path: format!("/sale/{}/graphql", event.id),
    }
}

/// Turns a script reply into what the fan sees; `estimate` overrides the position with a
/// live estimate from the hub's snapshot.
pub(super) fn describe(
    state: &AppState,
    event: &event::Model,
    fan: &str,
    reply: &FanReply,
    estimate: Option<(i64, &Snapshot)>,
) -> QueueStatus {
    let configured_rate = reply
        .counters
        .rate
        .unwrap_or(state.config().queue_admission_rate);
    let pace = match estimate {
        Some((_, snapshot)) => snapshot.pace,
        None => reply.pace,
    };
    let (serving, paused, supply, rate) = match estimate {
        Some((_, snapshot)) => (
            snapshot.serving,
            snapshot.paused,
            snapshot.supply,
            if snapshot.measured_rate > 0.0 {
                snapshot.measured_rate
            } else {
                snapshot
                    .rate
                    .max(configured_rate.min(snapshot.rate.max(0.0)))
            },
        ),
        // The rate actually achieved lately (what the ETA should use), else the configured.
        None => (
            reply.counters.serving,
            reply.counters.paused,
            reply.counters.supply,
            reply
                .counters
                .achieved
                .filter(|achieved| *achieved >= 0.01)
                .unwrap_or(configured_rate),
        ),
    };
    let rate = if rate > 0.0 { rate } else { configured_rate };
    let mut status = QueueStatus {
        event_id: ID(event.id.to_string()),
        state: QueueState::NotInQueue,
        position: None,
        fans_ahead: None,
        estimated_wait_seconds: None,
        eta: None,
        ticket_number: None,
        lottery_entrant: super::lottery::proof::entrant_id(event.id, fan),
        now_serving: serving,
        presale_fans: reply.counters.presale,
        sale_opens_at: event.sale_opens_at,
        paused,
        supply: supply.into(),
        admission_rate: rate,
        exact: estimate.is_none(),
        admission: None,
        updated_at: Utc::now(),
    };
    if closed(event).is_some() {
        status.state = QueueState::Closed;
        return status;
    }
    match &reply.place {
        Place::Admitted(record) => {
            status.state = QueueState::Admitted;
            if let Some(record) = record {
                status.admission =
                    Some(admission(state, event, fan, &record.jti, record.expires_ms));
            }
        }
        Place::Waiting { rank, .. } => {
            status.state = QueueState::Waiting;
            let position = match estimate {
                Some((position, _)) => position,
                None => rank + 1,
            };
            status.position = Some(position);
            status.fans_ahead = Some(position - 1);
            status.ticket_number = reply.number();
            // No wait can be promised while nobody is admitted (paused, or no seat free).
            if !paused
                && supply == Supply::OnSale
                && let Some(pace) = pace
                && let Some(band) = eta::band(&pace, position)
            {
                status.estimated_wait_seconds = Some(band.likely);
                status.eta = Some(EtaBand {
                    low_seconds: band.low,
                    high_seconds: band.high,
                    coverage: eta::COVERAGE,
                    revised_at: Utc
                        .timestamp_millis_opt(pace.at_ms)
                        .single()
                        .unwrap_or_default(),
                });
            }
        }
        Place::Presale => status.state = QueueState::Presale,
        Place::Out(reason) => {
            status.state = match reason {
                Some(OutReason::Expired | OutReason::Revoked) => QueueState::Expired,
                Some(OutReason::Abandoned) => QueueState::Abandoned,
                Some(OutReason::Booked) => QueueState::Completed,
                Some(OutReason::Left) | None => QueueState::NotInQueue,
            }
        }
    }
    status
}
