//! Live seat availability: every committed change of seat state is published once per event
//! through Redis; each instance listens once per event and fans batches out to its own
//! `seatAvailability` subscribers, coalesced per `SEAT_BATCH_MS`.
//!
//! Each published message carries an event-wide sequence number, taken and published in one
//! script so messages arrive in sequence order. A subscriber's batch says which sequence range
//! it covers; a gap (or `resync: true`, when a slow subscriber fell behind) tells the client
//! to re-fetch `seatMap`, whose `sequence` says where it stands.

use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, LazyLock, Mutex},
    time::Duration,
};

use async_graphql::{ID, SimpleObject};
use entities::seat;
use fred::{
    clients::SubscriberClient,
    prelude::{EventInterface as _, KeysInterface as _, PubsubInterface as _},
    types::scripts::Script,
};
use futures_util::Stream;
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, mpsc};

use super::SeatStatus;
use crate::{
    error::{ApiError, ApiResult},
    queue::store,
    redis::Keys,
    sale::Buyer,
    state::AppState,
    ws::SlotGuard,
};

/// One seat's new state.
#[derive(Clone, Debug, PartialEq, Eq, SimpleObject)]
pub struct SeatChange {
    pub seat_id: ID,
    pub status: SeatStatus,
    /// The seat's own version after the change: apply a change only if it is newer.
    pub version: i64,
}

/// A batch of changes for one event.
#[derive(Clone, Debug, SimpleObject)]
pub struct SeatChanges {
    pub event_id: ID,
    /// The event-wide sequence numbers this batch covers (inclusive). If `fromSequence` is
    /// not one more than the last batch's `toSequence`, something was missed: re-fetch.
    pub from_sequence: i64,
    pub to_sequence: i64,
    /// True when this subscriber fell behind and changes were dropped: re-fetch `seatMap`.
    pub resync: bool,
    pub changes: Vec<SeatChange>,
}

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
enum Batch {
    Changes {
        from: i64,
        to: i64,
        changes: Vec<(i64, char, i64)>,
    },
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

struct Names {
    seq: String,
    channel: String,
}

fn names(keys: &Keys, event: i64) -> Names {
    let base = keys.event(event, "seats");
    Names {
        seq: format!("{base}:seq"),
        channel: format!("{base}:changes"),
    }
}

fn letter(status: seat::SeatStatus) -> char {
    match status {
        seat::SeatStatus::Available => 'A',
        seat::SeatStatus::Held => 'H',
        seat::SeatStatus::Booked => 'B',
    }
}

/// Publishes committed changes `(seat id, new status, new version)`. A failure is logged,
/// not returned: the change is committed, and subscribers resync on the next gap.
pub async fn publish(state: &AppState, event: i64, changes: &[(i64, seat::SeatStatus, i64)]) {
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
    let names = names(state.keys(), event);
    let published: Result<i64, _> = store::run(
        state.redis(),
        &PUBLISH,
        vec![names.seq],
        vec![names.channel, json],
    )
    .await;
    if let Err(error) = published {
        tracing::warn!(%error, event, "publishing seat changes failed; subscribers will resync");
    }
}

/// Tells every instance that an admission ended, so its sale subscriptions close.
pub async fn publish_revoked(state: &AppState, event: i64, jti: &str) {
    let names = names(state.keys(), event);
    let message = serde_json::json!({ "revoked": jti }).to_string();
    let published: Result<i64, _> = state.redis().next().publish(names.channel, message).await;
    if let Err(error) = published {
        tracing::warn!(%error, event, "publishing a revocation failed");
    }
}

/// The event's last published sequence number.
pub async fn current_sequence(state: &AppState, event: i64) -> ApiResult<i64> {
    let seq: Option<i64> = state.redis().get(names(state.keys(), event).seq).await?;
    Ok(seq.unwrap_or(0))
}

struct Feed {
    batches: broadcast::Sender<Arc<Batch>>,
    raw: mpsc::UnboundedSender<Wire>,
}

/// The instance's seat hub: cheap to clone.
#[derive(Clone)]
pub struct SeatHub {
    inner: Arc<Inner>,
}

struct Inner {
    keys: Keys,
    subscriber: SubscriberClient,
    feeds: Mutex<HashMap<i64, Arc<Feed>>>,
    channels: Mutex<HashMap<String, i64>>,
    batch_every: Duration,
}

impl SeatHub {
    /// Starts the hub's listener.
    pub fn start(keys: Keys, subscriber: SubscriberClient, batch_every: Duration) -> Self {
        let hub = Self {
            inner: Arc::new(Inner {
                keys,
                subscriber,
                feeds: Mutex::new(HashMap::new()),
                channels: Mutex::new(HashMap::new()),
                batch_every,
            }),
        };
        tokio::spawn(hub.clone().listen());
        hub
    }

    fn feed(&self, event: i64) -> Arc<Feed> {
        let mut feeds = self
            .inner
            .feeds
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(feed) = feeds.get(&event) {
            return feed.clone();
        }
        let (batches, _) = broadcast::channel(64);
        let (raw, incoming) = mpsc::unbounded_channel();
        let feed = Arc::new(Feed {
            batches: batches.clone(),
            raw,
        });
        feeds.insert(event, feed.clone());
        let names = names(&self.inner.keys, event);
        if let Ok(mut channels) = self.inner.channels.lock() {
            channels.insert(names.channel.clone(), event);
        }
        tokio::spawn(coalesce(incoming, batches, self.inner.batch_every));
        let subscriber = self.inner.subscriber.clone();
        tokio::spawn(async move {
            if let Err(error) = subscriber.subscribe(names.channel).await {
                tracing::warn!(%error, event, "subscribing to seat changes failed; will retry on reconnect");
            }
        });
        feed
    }

    async fn listen(self) {
        let mut messages = self.inner.subscriber.message_rx();
        loop {
            match messages.recv().await {
                Ok(message) => {
                    let event = self
                        .inner
                        .channels
                        .lock()
                        .ok()
                        .and_then(|channels| channels.get(&*message.channel).copied());
                    let Some(event) = event else { continue };
                    let Some(text) = message.value.as_str() else {
                        continue;
                    };
                    match serde_json::from_str::<Wire>(&text) {
                        Ok(wire) => {
                            let _ = self.feed(event).raw.send(wire);
                        }
                        Err(error) => tracing::warn!(%error, event, "unreadable seat message"),
                    }
                }
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "seat listener lagged")
                }
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    }

    /// Subscribes to an event's batches (and makes sure this instance listens to it).
    fn subscribe(&self, event: i64) -> broadcast::Receiver<Arc<Batch>> {
        self.feed(event).batches.subscribe()
    }

    /// Starts listening to an event before anyone subscribes (so the first batch is whole).
    pub fn warm(&self, event: i64) {
        self.feed(event);
    }
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

fn to_graphql(
    event: i64,
    from: i64,
    to: i64,
    resync: bool,
    changes: &[(i64, char, i64)],
) -> SeatChanges {
    SeatChanges {
        event_id: ID(event.to_string()),
        from_sequence: from,
        to_sequence: to,
        resync,
        changes: changes
            .iter()
            .map(|(id, status, version)| SeatChange {
                seat_id: ID(id.to_string()),
                status: match status {
                    'H' => SeatStatus::Held,
                    'B' => SeatStatus::Booked,
                    _ => SeatStatus::Available,
                },
                version: *version,
            })
            .collect(),
    }
}

/// A subscriber's stream of batches; it ends with `TOKEN_EXPIRED` when the buyer's admission
/// runs out and with `TOKEN_REVOKED` when it is ended early.
pub fn availability_stream(
    state: &AppState,
    event: i64,
    buyer: Option<Buyer>,
    slot: Option<SlotGuard>,
) -> impl Stream<Item = ApiResult<SeatChanges>> + use<> {
    let mut batches = state.seat_hub().subscribe(event);
    async_stream::stream! {
        let _slot = slot;
        let admission = buyer.and_then(|buyer| buyer.admission);
        let expires = admission.as_ref().map(|(_, exp)| *exp);
        let until_expiry = expires.map(|exp| {
            let left = (exp - chrono::Utc::now().timestamp()).max(0);
            tokio::time::Instant::now() + Duration::from_secs(left.unsigned_abs())
        });
        let expiry = async move {
            match until_expiry {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending::<()>().await,
            }
        };
        tokio::pin!(expiry);
        loop {
            tokio::select! {
                batch = batches.recv() => match batch {
                    Ok(batch) => match Batch::clone(&batch) {
                        Batch::Changes { from, to, changes } => yield Ok(to_graphql(event, from, to, false, &changes)),
                        Batch::Revoked(jti) => {
                            if admission.as_ref().is_some_and(|(mine, _)| *mine == jti) {
                                yield Err(ApiError::TokenRevoked);
                                return;
                            }
                        }
                    },
                    Err(broadcast::error::RecvError::Lagged(_)) => yield Ok(to_graphql(event, 0, 0, true, &[])),
                    Err(broadcast::error::RecvError::Closed) => return,
                },
                () = &mut expiry => {
                    yield Err(ApiError::Token(tokens::TokenError::Expired));
                    return;
                }
            }
        }
    }
}
