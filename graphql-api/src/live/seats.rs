//! Live seat changes between instances: every committed change of seat state is published
//! once per event through Redis; each instance listens once per event (a [`Hub`]) and hands
//! its own subscribers batches coalesced per `SEAT_BATCH_MS`.
//!
//! Each published message carries an event-wide sequence number, taken and published in one
//! script so messages arrive in sequence order. A batch says which sequence range it covers;
//! a gap (or a lagged subscriber) tells the client to re-fetch the seat map.
//!
//! Ended admissions travel on the same channel, on purpose: a buyer's admission ends after
//! their purchase is published, and only one channel (one connection, one coalescing window)
//! keeps the BOOKED batch ahead of the end of their subscription.

use std::{
    collections::BTreeMap,
    sync::{Arc, LazyLock},
    time::Duration,
};

use entities::seat::SeatStatus;
use fred::{prelude::PubsubInterface as _, types::scripts::Script};
use serde::{Deserialize, Serialize};
use tokens::store::Keys;
use tokio::sync::{broadcast, mpsc};

use crate::{
    error::ApiResult,
    hub::{Hub, Topic},
    redis,
};

/// Seats changed by a committed statement: `(id, new status, new version)`.
pub type Changes = Vec<(i64, SeatStatus, i64)>;

/// What is published on an event's seat channel.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(untagged)]
enum Wire {
    Changes {
        seq: i64,
        changes: Vec<(i64, char, i64)>,
    },
    Revoked {
        revoked: String,
    },
}

/// What the hub hands its local subscribers.
#[derive(Clone, Debug)]
pub enum Batch {
    /// Seat changes `(id, status letter, version)` covering sequences `from..=to`.
    Changes {
        from: i64,
        to: i64,
        changes: Vec<(i64, char, i64)>,
    },
    /// The admission with this token id ended.
    Revoked(String),
}

/// Takes the next sequence number and publishes in one step, so order is sequence order.
/// KEYS: seq. ARGV: channel, changes JSON.
static PUBLISH: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r#"
local seq = redis.call('INCR', KEYS[1])
redis.call('PUBLISH', ARGV[1], '{"seq":' .. seq .. ',"changes":' .. ARGV[2] .. '}')
return seq
"#,
    )
});

/// The letter a status travels as (and the seat map spells states with).
pub fn letter(status: SeatStatus) -> char {
    match status {
        SeatStatus::Available => 'A',
        SeatStatus::Held => 'H',
        SeatStatus::Booked => 'B',
    }
}

/// Publishes committed changes. A failure is logged, not returned: the change is committed,
/// and subscribers resync on the next gap.
pub async fn publish(
    redis: &fred::prelude::Pool,
    keys: &Keys,
    event: i64,
    changes: &[(i64, SeatStatus, i64)],
) {
    if changes.is_empty() {
        return;
    }
    let wire: Vec<(i64, char, i64)> = changes
        .iter()
        .map(|(id, status, version)| (*id, letter(*status), *version))
        .collect();
    let Ok(json) = serde_json::to_string(&wire) else {
        return;
    };
    let names = keys.seats(event);
    let published: Result<i64, _> =
        redis::run_script(redis, &PUBLISH, vec![names.seq], vec![names.channel, json]).await;
    if let Err(error) = published {
        tracing::warn!(%error, event, "publishing seat changes failed; subscribers will resync");
    }
}

/// Tells every instance that an admission ended, so its sale subscriptions close.
pub async fn publish_revoked(redis: &fred::prelude::Pool, keys: &Keys, event: i64, jti: &str) {
    let message = serde_json::json!({ "revoked": jti }).to_string();
    let published: Result<i64, _> = redis
        .next()
        .publish(keys.seats(event).channel, message)
        .await;
    if let Err(error) = published {
        tracing::warn!(%error, event, "publishing a revocation failed");
    }
}

/// The event's last published sequence number.
pub async fn current_sequence(
    redis: &fred::prelude::Pool,
    keys: &Keys,
    event: i64,
) -> ApiResult<i64> {
    let seq: Option<i64> = fred::prelude::KeysInterface::get(redis, keys.seats(event).seq).await?;
    Ok(seq.unwrap_or(0))
}

/// One event's seat changes as this instance sees them.
pub struct Feed {
    batches: broadcast::Sender<Arc<Batch>>,
    raw: mpsc::UnboundedSender<Wire>,
}

/// Seat changes: the publish script's messages, coalesced per window.
pub struct SeatTopic {
    keys: Keys,
    batch_every: Duration,
}

impl Topic for SeatTopic {
    type Feed = Feed;
    const NAME: &'static str = "seats";

    fn channel(&self, event: i64) -> String {
        self.keys.seats(event).channel
    }

    fn open(&self, _event: i64) -> Feed {
        let (batches, _) = broadcast::channel(64);
        let (raw, incoming) = mpsc::unbounded_channel();
        tokio::spawn(coalesce(incoming, batches.clone(), self.batch_every));
        Feed { batches, raw }
    }

    fn deliver(&self, event: i64, feed: &Feed, payload: &str) {
        match serde_json::from_str::<Wire>(payload) {
            Ok(wire) => {
                let _ = feed.raw.send(wire);
            }
            Err(error) => tracing::warn!(%error, event, "unreadable seat message"),
        }
    }
}

/// The instance's seat hub.
pub type SeatHub = Hub<SeatTopic>;

/// Starts the seat hub.
pub fn start(
    keys: Keys,
    subscriber: fred::clients::SubscriberClient,
    batch_every: Duration,
) -> SeatHub {
    Hub::start(SeatTopic { keys, batch_every }, subscriber)
}

/// Subscribes to an event's batches (and makes sure this instance listens to it).
pub fn subscribe(hub: &SeatHub, event: i64) -> broadcast::Receiver<Arc<Batch>> {
    hub.feed(event).batches.subscribe()
}

/// Gathers raw messages for `every`, then hands subscribers one batch (latest version of each
/// seat), then the window's revocations: a buyer's admission ends after their purchase is
/// published, so their own stream delivers the BOOKED batch before it closes.
async fn coalesce(
    mut incoming: mpsc::UnboundedReceiver<Wire>,
    batches: broadcast::Sender<Arc<Batch>>,
    every: Duration,
) {
    while let Some(first) = incoming.recv().await {
        let mut pending: Vec<Wire> = vec![first];
        let deadline = tokio::time::Instant::now() + every;
        loop {
            tokio::select! {
                next = incoming.recv() => match next {
                    Some(wire) => pending.push(wire),
                    None => break,
                },
                () = tokio::time::sleep_until(deadline) => break,
            }
        }
        let mut seats: BTreeMap<i64, (char, i64)> = BTreeMap::new();
        let mut revoked = Vec::new();
        let (mut from, mut to) = (i64::MAX, i64::MIN);
        for wire in pending {
            match wire {
                Wire::Changes { seq, changes } => {
                    from = from.min(seq);
                    to = to.max(seq);
                    for (id, status, version) in changes {
                        let newer = seats.get(&id).is_none_or(|(_, known)| *known < version);
                        if newer {
                            seats.insert(id, (status, version));
                        }
                    }
                }
                Wire::Revoked { revoked: jti } => revoked.push(jti),
            }
        }
        if from <= to {
            let changes = seats
                .into_iter()
                .map(|(id, (status, version))| (id, status, version))
                .collect();
            let _ = batches.send(Arc::new(Batch::Changes { from, to, changes }));
        }
        for jti in revoked {
            let _ = batches.send(Arc::new(Batch::Revoked(jti)));
        }
    }
}
