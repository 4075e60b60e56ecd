//! The shared context every handler and resolver reaches: cheap to clone, `Arc` inside.

use std::{
    hash::RandomState,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use entities::{event, seat_category};
use moka::future::Cache;
use sea_orm::DatabaseConnection;

use tokens::{Keyring, store::Keys};

use crate::{
    answers::{ImmutableFile, SharedAnswer},
    config::Config,
    db::QueryCounter,
    layout::SeatLayout,
    live::{queue::QueueHub, seats::SeatHub},
    queue_store::AdmissionRecords,
    sale_health::SaleHealth,
    shed::Shed,
};

/// Handles to everything an instance shares between requests.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    config: Config,
    db: DatabaseConnection,
    redis: fred::prelude::Pool,
    keys: Keys,
    queries: QueryCounter,
    requests: RequestLog,
    access_keys: Keyring,
    admission_keys: Keyring,
    queue_hub: QueueHub,
    seat_hub: SeatHub,
    admission_records: AdmissionRecords,
    /// Bounds of concurrent database work per kind (load shedding).
    shed: Shed,
    /// Events by id, briefly: every sale request names its event, and events rarely change.
    events: Cache<i64, Arc<event::Model>>,
    /// Seat layouts by event id: seats never move once seeded, so a layout is built once.
    layouts: Cache<i64, Arc<SeatLayout>>,
    /// Seat layouts written as the file browsers cache (JSON, version, gzip), by event id.
    layout_files: Cache<i64, Arc<ImmutableFile>>,
    /// Seat categories by event id: prices are fixed once a sale opens, and the sale path
    /// prices holds and bookings from them without a round trip.
    categories: Cache<i64, Arc<Vec<seat_category::Model>>>,
    /// Seat-state strings by (event, seat-change sequence), for at most a second.
    seat_states: Cache<(i64, i64), Arc<str>>,
    /// Whole seat-map answers by (event, sequence, query), for at most a second.
    seat_map_answers: Cache<(i64, i64, u64), Arc<SharedAnswer>>,
    /// Names queries in [`Self::seat_map_answers`] (keyed per process, so not guessable).
    answer_hasher: RandomState,
    /// Seat maps built so far (every other answer was shared).
    seat_map_builds: AtomicU64,
    /// The sale path's health in this instance, window by window (for the autopilot).
    sale_health: SaleHealth,
}

impl AppState {
    pub fn new(
        config: Config,
        db: DatabaseConnection,
        queries: QueryCounter,
        redis: fred::prelude::Pool,
        keyrings: (Keyring, Keyring),
        hubs: (QueueHub, SeatHub),
    ) -> Self {
        let (queue_hub, seat_hub) = hubs;
        let keys = Keys::new(config.redis_key_prefix.clone());
        let (access_keys, admission_keys) = keyrings;
        let shed = Shed::from_config(&config);
        Self {
            inner: Arc::new(Inner {
                shed,
                config,
                db,
                redis,
                keys,
                queries,
                requests: RequestLog::default(),
                access_keys,
                admission_keys,
                queue_hub,
                seat_hub,
                admission_records: AdmissionRecords::default(),
                events: Cache::builder()
                    .max_capacity(10_000)
                    .time_to_live(Duration::from_secs(2))
                    .build(),
                layouts: Cache::builder()
                    .max_capacity(64)
                    .time_to_idle(Duration::from_secs(3_600))
                    .build(),
                layout_files: Cache::builder()
                    .max_capacity(64)
                    .time_to_idle(Duration::from_secs(3_600))
                    .build(),
                categories: Cache::builder()
                    .max_capacity(1_024)
                    .time_to_live(Duration::from_secs(60))
                    .build(),
                // Weighed in bytes (a seat is one): 64 MiB holds a million-seat map's states
                // many times over.
                seat_states: Cache::builder()
                    .max_capacity(64 << 20)
                    .weigher(|_, states: &Arc<str>| u32::try_from(states.len()).unwrap_or(u32::MAX))
                    .time_to_live(Duration::from_secs(1))
                    .build(),
                seat_map_answers: Cache::builder()
                    .max_capacity(128 << 20)
                    // The JSON and, once asked for, a gzipped copy about a tenth its size.
                    .weigher(|_, answer: &Arc<SharedAnswer>| {
                        u32::try_from(answer.json().len() + answer.json().len() / 8)
                            .unwrap_or(u32::MAX)
                    })
                    .time_to_live(Duration::from_secs(1))
                    .build(),
                answer_hasher: RandomState::new(),
                seat_map_builds: AtomicU64::new(0),
                sale_health: SaleHealth::default(),
            }),
        }
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.inner.db
    }

    pub fn redis(&self) -> &fred::prelude::Pool {
        &self.inner.redis
    }

    /// Statements this instance has sent to Postgres so far.
    pub fn queries(&self) -> &QueryCounter {
        &self.inner.queries
    }

    /// Keys of sign-in access tokens.
    pub fn access_keys(&self) -> &Keyring {
        &self.inner.access_keys
    }

    /// Keys of admission tokens (shared with the gateway).
    pub fn admission_keys(&self) -> &Keyring {
        &self.inner.admission_keys
    }

    /// This instance's live queue fan-out.
    pub fn queue_hub(&self) -> &QueueHub {
        &self.inner.queue_hub
    }

    /// This instance's live seat-change fan-out.
    pub fn seat_hub(&self) -> &SeatHub {
        &self.inner.seat_hub
    }

    /// This instance's bounds of concurrent database work, and their counters.
    pub fn shed(&self) -> &Shed {
        &self.inner.shed
    }

    /// Admission records checked in the last second.
    pub(crate) fn admission_records(&self) -> &AdmissionRecords {
        &self.inner.admission_records
    }

    /// The most recent requests this instance served (method and path).
    pub fn requests(&self) -> &RequestLog {
        &self.inner.requests
    }

    pub fn keys(&self) -> &Keys {
        &self.inner.keys
    }

    pub(crate) fn event_cache(&self) -> &Cache<i64, Arc<event::Model>> {
        &self.inner.events
    }

    pub(crate) fn layout_cache(&self) -> &Cache<i64, Arc<SeatLayout>> {
        &self.inner.layouts
    }

    pub(crate) fn layout_file_cache(&self) -> &Cache<i64, Arc<ImmutableFile>> {
        &self.inner.layout_files
    }

    pub(crate) fn category_cache(&self) -> &Cache<i64, Arc<Vec<seat_category::Model>>> {
        &self.inner.categories
    }

    pub(crate) fn seat_state_cache(&self) -> &Cache<(i64, i64), Arc<str>> {
        &self.inner.seat_states
    }

    pub(crate) fn seat_map_answers(&self) -> &Cache<(i64, i64, u64), Arc<SharedAnswer>> {
        &self.inner.seat_map_answers
    }

    pub(crate) fn answer_hasher(&self) -> &RandomState {
        &self.inner.answer_hasher
    }

    /// How many seat maps this instance has built; the rest of its map answers were shared.
    pub fn seat_map_builds(&self) -> u64 {
        self.inner.seat_map_builds.load(Ordering::Relaxed)
    }

    /// This instance's record of its sale answers (the autopilot reports it).
    pub fn sale_health(&self) -> &SaleHealth {
        &self.inner.sale_health
    }

    pub(crate) fn count_seat_map_build(&self) {
        self.inner.seat_map_builds.fetch_add(1, Ordering::Relaxed);
    }
}

/// The last requests an instance served, newest last: lets tests see what reached the API
/// (and what a gateway kept away from it).
#[derive(Clone, Debug, Default)]
pub struct RequestLog {
    entries: Arc<std::sync::Mutex<std::collections::VecDeque<(String, String)>>>,
    total: Arc<std::sync::atomic::AtomicU64>,
}

impl RequestLog {
    const KEEP: usize = 10_000;

    pub(crate) fn record(&self, method: &str, path: &str) {
        self.total
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() == Self::KEEP {
                entries.pop_front();
            }
            entries.push_back((method.to_owned(), path.to_owned()));
        }
    }

    /// Requests served since start.
    pub fn total(&self) -> u64 {
        self.total.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The kept entries whose path starts with `prefix`.
    pub fn matching(&self, prefix: &str) -> Vec<(String, String)> {
        self.entries
            .lock()
            .map(|entries| {
                entries
                    .iter()
                    .filter(|(_, path)| path.starts_with(prefix))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }
}
