//! Redis state the gate reads, behind short in-process caches: admission records and gate
//! switches.
//!
//! A cached answer is trusted for `token_cache_ttl_ms` / `gate_cache_ttl_ms` (1 s by
//! default), so a valid fan costs one Redis read per token per second at most, and a revoked
//! token stops passing within that time. Both "present" and "absent" are cached (a flood of
//! revoked tokens must not reach Redis either); "Redis unreachable" never is, so the gate
//! recovers as soon as Redis does.
//!
//! Redis unreachable means fail closed on sale routes (`GATE_UNAVAILABLE`): a request is
//! admitted only on positive evidence. Commands time out after `redis_command_timeout_ms`,
//! and while the client knows it is disconnected it answers at once instead of waiting.

use std::{sync::Arc, time::Duration};

use fred::prelude::{
    Builder, ClientLike as _, Config as RedisConfig, HashesInterface as _, KeysInterface as _,
    Pool, ReconnectPolicy,
};
use moka::sync::Cache;

use crate::{
    admission::{GateState, RecordLookup, RecordState},
    config::Config,
    error::GatewayError,
    metrics::{EventAdmission, Metrics},
};

/// Most events whose admission limits one scrape of `/metrics` reads.
const ADMISSION_EVENTS: usize = 200;

/// Cached reads of admission records and gate switches. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    redis: Pool,
    keys: tokens::store::Keys,
    /// `(event, jti)` -> record. Lives `token_cache_ttl_ms`.
    records: Cache<(i64, String), RecordState>,
    /// event -> gate. Lives `gate_cache_ttl_ms`.
    gates: Cache<i64, GateState>,
    /// Events whose gate was read in the last ten minutes: `/metrics` shows their limits.
    seen: Cache<i64, ()>,
    metrics: Metrics,
}

impl Store {
    /// Connects to Redis on a runtime of its own, which lives as long as the process:
    /// Pingora owns (and shuts down) its service runtimes, and fred's connection tasks must
    /// outlive any one of them. Returns without waiting when Redis is down: the client keeps
    /// reconnecting, and sale routes fail closed meanwhile.
    pub fn connect(config: &Config, metrics: Metrics) -> Result<Self, GatewayError> {
        let mut redis_config = RedisConfig::from_url(config.redis_url.expose())
            .map_err(|error| GatewayError::redis("REDIS_URL is not a Redis URL", error))?;
        // fred gives up for good when the very first connection fails (fail fast); a gateway
        // started while Redis is away must keep trying, and let fans in once it is back.
        redis_config.fail_fast = false;
        let timeout = config.redis_command_timeout();
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("redis".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(error) => {
                        let _ = sender.send(Err(GatewayError::redis("its runtime", error)));
                        return;
                    }
                };
                runtime.block_on(async move {
                    let built = Builder::from_config(redis_config)
                        .with_performance_config(|performance| {
                            // fred waits forever by default; the gate must answer quickly.
                            performance.default_command_timeout = timeout;
                        })
                        .with_connection_config(|connection| {
                            connection.connection_timeout = timeout.max(Duration::from_secs(1));
                            connection.internal_command_timeout = timeout;
                            // Bound the backlog while Redis is away.
                            connection.max_command_buffer_len = 10_000;
                        })
                        .set_policy(ReconnectPolicy::new_exponential(0, 50, 1_000, 2))
                        .build_pool(2);
                    let pool = match built {
                        Ok(pool) => pool,
                        Err(error) => {
                            let _ = sender.send(Err(GatewayError::redis("its client", error)));
                            return;
                        }
                    };
                    let _connections = pool.connect();
                    let connected =
                        tokio::time::timeout(Duration::from_secs(1), pool.wait_for_connect()).await;
                    if !matches!(connected, Ok(Ok(()))) {
                        tracing::warn!(
                            "Redis is not reachable yet: sale routes fail closed until it is"
                        );
                    }
                    let _ = sender.send(Ok(pool));
                    // Keep the connection tasks running for the life of the process.
                    std::future::pending::<()>().await;
                });
            })
            .map_err(|error| GatewayError::redis("its thread", error))?;
        let redis = receiver
            .recv()
            .map_err(|error| GatewayError::redis("its thread stopped", error))??;
        Ok(Self::with_pool(redis, config, metrics))
    }

    fn with_pool(redis: Pool, config: &Config, metrics: Metrics) -> Self {
        Self {
            inner: Arc::new(Inner {
                redis,
                keys: tokens::store::Keys::new(config.redis_key_prefix.clone()),
                records: Cache::builder()
                    .max_capacity(config.token_cache_capacity)
                    .time_to_live(Duration::from_millis(config.token_cache_ttl_ms))
                    .build(),
                gates: Cache::builder()
                    .max_capacity(100_000)
                    .time_to_live(Duration::from_millis(config.gate_cache_ttl_ms))
                    .build(),
                seen: Cache::builder()
                    .max_capacity(10_000)
                    .time_to_live(Duration::from_secs(600))
                    .build(),
                metrics,
            }),
        }
    }

    /// An event's gate: cached, else read from Redis (`"0"` off; `"1"` or absent on).
    pub async fn gate(&self, event: i64) -> GateState {
        if let Some(state) = self.inner.gates.get(&event) {
            return state;
        }
        let key = self.inner.keys.gate(event);
        let state = match self.get(&key).await {
            Ok(Some(value)) if value.trim() == "0" => GateState::Off,
            Ok(_) => GateState::On,
            Err(()) => return GateState::Unavailable,
        };
        self.inner.gates.insert(event, state);
        self.inner.seen.insert(event, ());
        state
    }

    /// Reads the admission limits in force of the events seen lately (what the API's
    /// autopilot or an admin set) into the metrics. Called per scrape: two reads per event.
    pub async fn refresh_admission_metrics(&self) {
        let mut events: Vec<i64> = self.inner.seen.iter().map(|(event, ())| *event).collect();
        events.sort_unstable();
        events.truncate(ADMISSION_EVENTS);
        let client = self.inner.redis.next();
        let mut admissions = Vec::with_capacity(events.len());
        for event in events {
            let meta = self.inner.keys.queue(event).meta;
            let limits: Result<(Option<f64>, Option<f64>, Option<f64>), _> = client
                .hmget(&meta, vec!["rate", "capacity", "achieved"])
                .await;
            let mode: Result<Option<String>, _> =
                client.hget(self.inner.keys.autopilot(event), "mode").await;
            match (limits, mode) {
                (Ok((rate, capacity, achieved_rate)), Ok(mode)) => admissions.push((
                    event,
                    EventAdmission {
                        rate,
                        capacity,
                        achieved_rate,
                        pinned: mode.as_deref() == Some("PINNED"),
                    },
                )),
                (Err(error), _) | (_, Err(error)) => {
                    tracing::warn!(%error, event, "reading admission limits for metrics failed");
                }
            }
        }
        self.inner.metrics.set_event_admission(&admissions);
    }

    /// A token's record, read from Redis and cached (unless Redis could not be read).
    pub async fn fetch_record(&self, event: i64, jti: &str) -> RecordState {
        let key = self.inner.keys.admission(event, jti);
        let state = match self.get(&key).await {
            Ok(Some(user)) => RecordState::Live(Arc::from(user)),
            Ok(None) => RecordState::Missing,
            Err(()) => return RecordState::Unavailable,
        };
        self.inner
            .records
            .insert((event, jti.to_owned()), state.clone());
        state
    }

    /// `GET key`; `Err` when Redis is unreachable or too slow (already logged and counted).
    async fn get(&self, key: &str) -> Result<Option<String>, ()> {
        let client = self.inner.redis.next();
        if !client.is_connected() {
            self.inner.metrics.redis_errors.inc();
            return Err(());
        }
        client.get::<Option<String>, _>(key).await.map_err(|error| {
            self.inner.metrics.redis_errors.inc();
            tracing::warn!(%error, "Redis read failed: failing closed");
        })
    }
}

impl RecordLookup for Store {
    fn lookup(&self, event: i64, jti: &str) -> Option<RecordState> {
        // The owned key costs one small allocation; moka needs `Borrow` for borrowed keys,
        // which a tuple with a `String` cannot give.
        let found = self.inner.records.get(&(event, jti.to_owned()));
        if found.is_some() {
            self.inner.metrics.token_cache_hits.inc();
        } else {
            self.inner.metrics.token_cache_misses.inc();
        }
        found
    }
}
