//! Live queue updates inside one API instance, at a cost that does not grow with fans.
//!
//! The ticker publishes one small message per event and tick on the event's channel: the
//! number now being served, and the few fans just admitted. Each instance listens once per
//! event (one Redis subscription) and:
//! - keeps the latest [`Snapshot`] in a `watch`, which every local subscription reads when it
//!   computes its own position (`my number - serving`): no Redis call per fan per tick;
//! - hands each admitted fan's admission to that fan's local subscriptions only;
//! - tells Redis its local fans are alive with one `ZADD` per event every few seconds, so the
//!   ticker skips fans who stopped listening.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use fred::{
    clients::SubscriberClient,
    prelude::{
        ClientLike as _, EventInterface as _, Pool, PubsubInterface as _, SortedSetsInterface as _,
    },
};
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, watch};

use super::store::QueueKeys;
use crate::redis::Keys;

/// The event's queue as last published.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Snapshot {
    /// Number of the last fan taken from the head.
    pub serving: i64,
    /// Fans ranked by the lottery (numbers `1..lottery`).
    pub lottery: i64,
    pub drawn: bool,
    pub paused: bool,
    /// Admissions per second as configured.
    pub rate: f64,
    /// Fans taken from the head per second, measured (smoothed).
    pub measured_rate: f64,
    /// When the last message arrived.
    pub at: Option<Instant>,
}

/// One admitted fan, as published.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdmittedFan {
    pub fan: String,
    pub jti: String,
    pub expires_ms: i64,
    pub number: i64,
}

/// What the ticker publishes per event and tick.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct QueueMessage {
    pub serving: i64,
    pub lottery: i64,
    pub drawn: bool,
    pub paused: bool,
    pub rate: f64,
    pub admitted: Vec<AdmittedFan>,
}

/// Local subscriptions waiting for admission: fan -> (registration id, sender).
type Waiters = HashMap<String, Vec<(u64, mpsc::Sender<AdmittedFan>)>>;

struct Feed {
    keys: QueueKeys,
    snapshot: watch::Sender<Snapshot>,
    /// Local subscriptions waiting for admission, by fan.
    waiting: Mutex<Waiters>,
}

/// The instance's hub: cheap to clone.
#[derive(Clone)]
pub struct QueueHub {
    inner: Arc<Inner>,
}

struct Inner {
    keys: Keys,
    redis: Pool,
    subscriber: SubscriberClient,
    feeds: Mutex<HashMap<i64, Arc<Feed>>>,
    channels: Mutex<HashMap<String, i64>>,
    next_id: std::sync::atomic::AtomicU64,
}

/// A local subscription's link to its event's feed; unregisters when dropped.
pub struct Registration {
    pub snapshot: watch::Receiver<Snapshot>,
    pub admissions: mpsc::Receiver<AdmittedFan>,
    feed: Arc<Feed>,
    fan: String,
    id: u64,
}

impl Drop for Registration {
    fn drop(&mut self) {
        if let Ok(mut waiting) = self.feed.waiting.lock()
            && let Some(list) = waiting.get_mut(&self.fan)
        {
            list.retain(|(id, _)| *id != self.id);
            if list.is_empty() {
                waiting.remove(&self.fan);
            }
        }
    }
}

impl QueueHub {
    /// Starts the hub: its listener and its heartbeat task.
    pub fn start(
        keys: Keys,
        redis: Pool,
        subscriber: SubscriberClient,
        heartbeat_every: Duration,
    ) -> Self {
        let hub = Self {
            inner: Arc::new(Inner {
                keys,
                redis,
                subscriber,
                feeds: Mutex::new(HashMap::new()),
                channels: Mutex::new(HashMap::new()),
                next_id: std::sync::atomic::AtomicU64::new(1),
            }),
        };
        tokio::spawn(hub.clone().listen());
        tokio::spawn(hub.clone().heartbeats(heartbeat_every));
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
        let keys = QueueKeys::new(&self.inner.keys, event);
        let feed = Arc::new(Feed {
            keys: keys.clone(),
            snapshot: watch::channel(Snapshot::default()).0,
            waiting: Mutex::new(HashMap::new()),
        });
        feeds.insert(event, feed.clone());
        if let Ok(mut channels) = self.inner.channels.lock() {
            channels.insert(keys.channel.clone(), event);
        }
        let subscriber = self.inner.subscriber.clone();
        tokio::spawn(async move {
            // Subscriptions are managed: fred re-subscribes after a reconnect.
            if let Err(error) = subscriber.subscribe(keys.channel.clone()).await {
                tracing::warn!(%error, event, "subscribing to queue updates failed; will retry on reconnect");
            }
        });
        feed
    }

    /// Registers a local subscription of `fan` to `event`'s updates.
    pub fn register(&self, event: i64, fan: &str) -> Registration {
        let feed = self.feed(event);
        let (tx, rx) = mpsc::channel(4);
        let id = self
            .inner
            .next_id
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if let Ok(mut waiting) = feed.waiting.lock() {
            waiting.entry(fan.to_owned()).or_default().push((id, tx));
        }
        Registration {
            snapshot: feed.snapshot.subscribe(),
            admissions: rx,
            feed,
            fan: fan.to_owned(),
            id,
        }
    }

    /// Seeds an event's snapshot from an exact read, unless a message was seen already.
    pub fn seed(
        &self,
        event: i64,
        serving: i64,
        lottery: i64,
        drawn: bool,
        paused: bool,
        rate: f64,
    ) {
        let feed = self.feed(event);
        feed.snapshot.send_if_modified(|snapshot| {
            if snapshot.at.is_some() {
                return false;
            }
            *snapshot = Snapshot {
                serving,
                lottery,
                drawn,
                paused,
                rate,
                measured_rate: 0.0,
                at: None,
            };
            true
        });
    }

    /// Applies a published message to the event's feed (also used by tests).
    pub fn apply(&self, event: i64, message: QueueMessage) {
        let feed = self.feed(event);
        let now = Instant::now();
        feed.snapshot.send_modify(|snapshot| {
            if let Some(at) = snapshot.at {
                let seconds = now.duration_since(at).as_secs_f64();
                if seconds > 0.05 {
                    let rate = (message.serving - snapshot.serving).max(0) as f64 / seconds;
                    // Smoothed over roughly the last ten messages.
                    snapshot.measured_rate = if snapshot.measured_rate == 0.0 {
                        rate
                    } else {
                        0.9 * snapshot.measured_rate + 0.1 * rate
                    };
                }
            }
            snapshot.serving = message.serving;
            snapshot.lottery = message.lottery;
            snapshot.drawn = message.drawn;
            snapshot.paused = message.paused;
            snapshot.rate = message.rate;
            snapshot.at = Some(now);
        });
        if message.admitted.is_empty() {
            return;
        }
        let Ok(waiting) = feed.waiting.lock() else {
            return;
        };
        for admitted in message.admitted {
            for (_, tx) in waiting.get(&admitted.fan).into_iter().flatten() {
                let _ = tx.try_send(admitted.clone());
            }
        }
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
                    match serde_json::from_str::<QueueMessage>(&text) {
                        Ok(decoded) => self.apply(event, decoded),
                        Err(error) => tracing::warn!(%error, event, "unreadable queue message"),
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(missed)) => {
                    // The next message carries the whole state; only admissions can be missed,
                    // and those fans still see them on their next exact read.
                    tracing::warn!(missed, "queue listener lagged");
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            }
        }
    }

    /// Fans with a live local subscription, per event.
    fn live_fans(&self) -> Vec<(QueueKeys, Vec<String>)> {
        let feeds: Vec<Arc<Feed>> = self
            .inner
            .feeds
            .lock()
            .map(|feeds| feeds.values().cloned().collect())
            .unwrap_or_default();
        feeds
            .iter()
            .filter_map(|feed| {
                let fans: Vec<String> = feed.waiting.lock().ok()?.keys().cloned().collect();
                (!fans.is_empty()).then(|| (feed.keys.clone(), fans))
            })
            .collect()
    }

    async fn heartbeats(self, every: Duration) {
        let mut interval = tokio::time::interval(every);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            let now_ms = chrono::Utc::now().timestamp_millis() as f64;
            for (keys, fans) in self.live_fans() {
                // One command per event (per 5,000 fans), whatever the number of fans.
                for chunk in fans.chunks(5_000) {
                    let members: Vec<(f64, String)> =
                        chunk.iter().map(|fan| (now_ms, fan.clone())).collect();
                    let result: Result<i64, _> = self
                        .inner
                        .redis
                        .zadd(&keys.alive, None, None, false, false, members)
                        .await;
                    if let Err(error) = result {
                        tracing::warn!(%error, "queue heartbeat failed");
                    }
                }
            }
        }
    }

    /// Stops listening (on shutdown).
    pub async fn stop(&self) {
        let _ = self.inner.subscriber.quit().await;
    }
}
