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

use fred::prelude::Pool;
use tokens::store::{Keys, QueueKeys};
use tokio::sync::{mpsc, watch};

use crate::{
    eta::Pace,
    hub::{Hub, Topic},
    queue_store::{self, AdmittedFan, QueueMessage, Supply},
};

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
    /// Fans let in per second, measured: the ticker's smoothed count of admissions when its
    /// message carries one, else the pace of "now serving" between messages (smoothed).
    pub measured_rate: f64,
    /// Whether seats are left to sell.
    pub supply: Supply,
    /// The forecast of the line's pace waits are shown from.
    pub pace: Option<Pace>,
    /// When the last message arrived.
    pub at: Option<Instant>,
}

/// Local subscriptions waiting for admission: fan -> (registration id, sender).
type Waiters = HashMap<String, Vec<(u64, mpsc::Sender<AdmittedFan>)>>;

/// One event's queue as this instance sees it.
pub struct Feed {
    keys: QueueKeys,
    snapshot: watch::Sender<Snapshot>,
    /// Local subscriptions waiting for admission, by fan.
    waiting: Mutex<Waiters>,
}

/// The queue's updates: the ticker's message per event and tick.
pub struct QueueTopic {
    keys: Keys,
    next_id: std::sync::atomic::AtomicU64,
}

impl Topic for QueueTopic {
    type Feed = Feed;
    const NAME: &'static str = "queue";

    fn channel(&self, event: i64) -> String {
        self.keys.queue(event).channel
    }

    fn open(&self, event: i64) -> Feed {
        Feed {
            keys: self.keys.queue(event),
            snapshot: watch::channel(Snapshot::default()).0,
            waiting: Mutex::new(HashMap::new()),
        }
    }

    fn deliver(&self, event: i64, feed: &Feed, payload: &str) {
        match serde_json::from_str::<QueueMessage>(payload) {
            Ok(message) => apply(feed, message),
            Err(error) => tracing::warn!(%error, event, "unreadable queue message"),
        }
    }
}

/// The instance's queue hub.
pub type QueueHub = Hub<QueueTopic>;

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

/// Starts the queue hub and its heartbeat task, which tells Redis which fans still listen.
pub fn start(
    keys: Keys,
    redis: Pool,
    subscriber: fred::clients::SubscriberClient,
    heartbeat_every: Duration,
) -> QueueHub {
    let hub = Hub::start(
        QueueTopic {
            keys,
            next_id: std::sync::atomic::AtomicU64::new(1),
        },
        subscriber,
    );
    tokio::spawn(heartbeats(hub.clone(), redis, heartbeat_every));
    hub
}

/// Registers a local subscription of `fan` to `event`'s updates.
pub fn register(hub: &QueueHub, event: i64, fan: &str) -> Registration {
    let feed = hub.feed(event);
    let (tx, rx) = mpsc::channel(4);
    let id = hub
        .topic()
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
pub fn seed(hub: &QueueHub, event: i64, exact: &Snapshot) {
    hub.feed(event).snapshot.send_if_modified(|snapshot| {
        if snapshot.at.is_some() {
            return false;
        }
        *snapshot = Snapshot {
            measured_rate: 0.0,
            at: None,
            ..exact.clone()
        };
        true
    });
}

fn apply(feed: &Feed, message: QueueMessage) {
    let now = Instant::now();
    feed.snapshot.send_modify(|snapshot| {
        if let Some(achieved) = message.achieved.filter(|achieved| *achieved >= 0.01) {
            snapshot.measured_rate = achieved;
        } else if let Some(at) = snapshot.at {
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
        snapshot.supply = message.supply;
        snapshot.pace = message.pace;
        snapshot.at = Some(now);
    });
    if message.admitted.is_empty() {
        return;
    }
    // Missed admissions (a lagged listener) are seen on the fan's next exact read.
    let Ok(waiting) = feed.waiting.lock() else {
        return;
    };
    for admitted in message.admitted {
        for (_, tx) in waiting.get(&admitted.fan).into_iter().flatten() {
            let _ = tx.try_send(admitted.clone());
        }
    }
}

/// Fans with a live local subscription, per event.
fn live_fans(hub: &QueueHub) -> Vec<(QueueKeys, Vec<String>)> {
    hub.feeds()
        .iter()
        .filter_map(|(_, feed)| {
            let fans: Vec<String> = feed.waiting.lock().ok()?.keys().cloned().collect();
            (!fans.is_empty()).then(|| (feed.keys.clone(), fans))
        })
        .collect()
}

async fn heartbeats(hub: QueueHub, redis: Pool, every: Duration) {
    let mut interval = tokio::time::interval(every);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        for (keys, fans) in live_fans(&hub) {
            if let Err(error) = queue_store::mark_alive(&redis, &keys, &fans).await {
                tracing::warn!(%error, "queue heartbeat failed");
            }
        }
    }
}
