//! The `queuePosition` subscription: a fan's place, live, at a cost that does not grow with
//! the line. The position is estimated from the hub's "now serving" (no Redis call per fan
//! per tick), corrected by an exact read now and then; an admission arrives the moment the
//! ticker publishes it.

use std::{sync::Arc, time::Duration};

use chrono::Utc;
use entities::event;
use futures_util::Stream;
use uuid::Uuid;

use super::{
    QueueStatus,
    line::{describe, exact},
};
use crate::{
    auth::Identity,
    error::ApiResult,
    live::queue::{self as hub, Snapshot},
    queue_store::{AdmissionRecord, FanReply, Place, scripts::number_of},
    state::AppState,
    ws::SlotGuard,
};

/// Fans who left ahead since the last exact read: the estimate subtracts them.
fn left_ahead(reply: &FanReply) -> i64 {
    match (reply.number(), &reply.place) {
        (Some(number), Place::Waiting { rank, .. }) => {
            ((number - reply.counters.serving) - (rank + 1)).max(0)
        }
        _ => 0,
    }
}

/// The exact position in a reply, while waiting.
fn exact_position(reply: &FanReply) -> Option<i64> {
    match reply.place {
        Place::Waiting { rank, .. } => Some(rank + 1),
        _ => None,
    }
}

/// What a regular update shows the fan.
enum Update {
    /// Still waiting, at this estimated position.
    Estimate(i64),
    /// The last exact reply, unchanged.
    Unchanged,
    /// Their standing may have changed (their turn came, the draw ran, the admission ran
    /// out): read it exactly.
    ReadExactly,
}

/// What the fan sees on a regular update.
fn on_update(reply: &FanReply, snapshot: &Snapshot, left_ahead: i64) -> Update {
    match &reply.place {
        Place::Waiting { score, .. } => {
            // The lottery's size comes with every message, so a FIFO fan's number stays right
            // across the draw without a Redis read.
            let number = number_of(*score, snapshot.lottery.max(reply.counters.lottery));
            let position = number - snapshot.serving - left_ahead;
            // Below 1, our turn has come (admission or skip).
            if position >= 1 {
                Update::Estimate(position)
            } else {
                Update::ReadExactly
            }
        }
        // Presale fans learn their rank from the draw itself.
        Place::Presale if snapshot.drawn => Update::ReadExactly,
        Place::Admitted(Some(record)) if record.expires_ms <= Utc::now().timestamp_millis() => {
            Update::ReadExactly
        }
        _ => Update::Unchanged,
    }
}

/// A fan's live position: exact at first, then estimated, with an exact correction now and
/// then; the admission the moment it is published.
pub fn position_stream(
    state: AppState,
    event: Arc<event::Model>,
    identity: Identity,
    slot: Option<SlotGuard>,
) -> impl Stream<Item = ApiResult<QueueStatus>> {
    async_stream::stream! {
        let _slot = slot;
        let fan = identity.fan_key();
        let mut registration = hub::register(state.queue_hub(), event.id, &fan);
        let mut reply = match exact(&state, event.id, &fan).await {
            Ok(reply) => reply,
            Err(error) => {
                yield Err(error);
                return;
            }
        };
        hub::seed(state.queue_hub(), event.id, &Snapshot {
            serving: reply.counters.serving,
            lottery: reply.counters.lottery,
            drawn: reply.counters.drawn,
            paused: reply.counters.paused,
            rate: reply.counters.rate.unwrap_or(state.config().queue_admission_rate),
            supply: reply.counters.supply,
            pace: reply.pace,
            ..Snapshot::default()
        });
        let mut ahead = left_ahead(&reply);
        // A waiting fan's place only moves forward: an estimate from a snapshot older than
        // the last exact read must not show them further back (nor their wait longer).
        let mut shown = exact_position(&reply);
        yield Ok(describe(&state, &event, &fan, &reply, None));

        let update_every = Duration::from_secs(state.config().queue_update_secs.max(1));
        let mut updates = tokio::time::interval_at(tokio::time::Instant::now() + update_every, update_every);
        let exact_every = Duration::from_secs(state.config().queue_exact_rank_secs.max(1));
        // Spread exact reads so subscribers that started together do not read together.
        let jitter = Duration::from_millis(u64::from(Uuid::new_v4().as_u128() as u16) % (exact_every.as_millis() as u64).max(1));
        let mut exact_reads = tokio::time::interval_at(tokio::time::Instant::now() + exact_every + jitter, exact_every);
        loop {
            let mut refresh = false;
            tokio::select! {
                admitted = registration.admissions.recv() => {
                    let Some(admitted) = admitted else { return };
                    reply.place = Place::Admitted(Some(AdmissionRecord {
                        jti: admitted.jti,
                        expires_ms: admitted.expires_ms,
                    }));
                    yield Ok(describe(&state, &event, &fan, &reply, None));
                    continue;
                }
                _ = updates.tick() => {
                    let snapshot = registration.snapshot.borrow().clone();
                    match on_update(&reply, &snapshot, ahead) {
                        Update::Estimate(position) => {
                            let position = shown.map_or(position, |shown| position.min(shown));
                            shown = Some(position);
                            yield Ok(describe(&state, &event, &fan, &reply, Some((position, &snapshot))));
                        }
                        Update::Unchanged => yield Ok(describe(&state, &event, &fan, &reply, None)),
                        Update::ReadExactly => refresh = true,
                    }
                }
                _ = exact_reads.tick() => refresh = true,
            }
            if refresh {
                match exact(&state, event.id, &fan).await {
                    Ok(fresh) => {
                        reply = fresh;
                        ahead = left_ahead(&reply);
                        shown = exact_position(&reply);
                        yield Ok(describe(&state, &event, &fan, &reply, None));
                    }
                    Err(error) => tracing::warn!(error = %error, "exact queue read failed; keeping the estimate"),
                }
            }
        }
    }
}
