//! The shared context every handler and resolver reaches: cheap to clone, `Arc` inside.

use std::{sync::Arc, time::Duration};

use entities::event;
use moka::future::Cache;
use sea_orm::DatabaseConnection;

use crate::{config::Config, db::QueryCounter, redis::Keys, seats::map::SeatLayout};

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
    /// Events by id, briefly: every sale request names its event, and events rarely change.
    events: Cache<i64, Arc<event::Model>>,
    /// Seat layouts by event id: seats never move once seeded, so a layout is built once.
    layouts: Cache<i64, Arc<SeatLayout>>,
}

impl AppState {
    pub fn new(
        config: Config,
        db: DatabaseConnection,
        queries: QueryCounter,
        redis: fred::prelude::Pool,
    ) -> Self {
        let keys = Keys::new(config.redis_key_prefix.clone());
        Self {
            inner: Arc::new(Inner {
                config,
                db,
                redis,
                keys,
                queries,
                events: Cache::builder()
                    .max_capacity(10_000)
                    .time_to_live(Duration::from_secs(2))
                    .build(),
                layouts: Cache::builder()
                    .max_capacity(64)
                    .time_to_idle(Duration::from_secs(3_600))
                    .build(),
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

    pub fn keys(&self) -> &Keys {
        &self.inner.keys
    }

    pub(crate) fn event_cache(&self) -> &Cache<i64, Arc<event::Model>> {
        &self.inner.events
    }

    pub(crate) fn layout_cache(&self) -> &Cache<i64, Arc<SeatLayout>> {
        &self.inner.layouts
    }
}
