//! Load shedding: each instance bounds its concurrent database work per [`Kind`], and a
//! request past the bound is answered at once with `BUSY` and a retry hint, before the
//! Postgres pool could time out (which would answer `INTERNAL_ERROR`).
//!
//! One permit pool (a [`tokio::sync::Semaphore`]) per kind, so a kind that is saturated
//! never makes another wait: the queue's calls keep being answered while every sale write
//! is taken. A request waits for a permit at most `SHED_WAIT_MS` (a burst is smoothed, a
//! backlog is not built), then is shed. Its permit is held until its operation's answer is
//! complete, so the bound counts operations in progress, not statements.
//!
//! The pools live in [`AppState`](crate::state::AppState) (`state.shed()`), so every
//! transport and every reporter reads the same counters ([`Shed::snapshot`]). They are
//! applied at one point, the schemas' [`ShedGate`] extension (see `extension`), and
//! `classify` decides the kind of an operation.
//!
//! The defaults split the Postgres pool: sale writes half of it, sale reads and the other
//! public calls a quarter each, so that, at about one connection per operation, requests
//! wait in the shed (bounded, answered `BUSY`) rather than in the pool (a timeout). The
//! queue's calls mostly talk to Redis (their event lookup is cached), so their bound is
//! wider.

mod classify;
mod extension;

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

pub use self::{
    classify::{SchemaSide, classify_operation},
    extension::ShedGate,
};
use crate::{config::Config, error::ApiError};

/// The kinds of database work an instance bounds separately.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// The fans' own queue operations on the public schema (`joinQueue`, `queueStatus`,
    /// `heartbeat`, `leaveQueue`): mostly Redis.
    QueueCalls,
    /// The rest of the public schema: events, sign-in and accounts.
    PublicCalls,
    /// Sale-schema queries (seat map, seats, holds, bookings) and `myBookings`.
    SaleReads,
    /// Sale-schema mutations (holds, bookings, payments) and the public `cancelBooking`.
    SaleWrites,
}

impl Kind {
    /// Every kind, in the order of [`Shed::snapshot`].
    pub const ALL: [Kind; 4] = [
        Kind::SaleWrites,
        Kind::SaleReads,
        Kind::QueueCalls,
        Kind::PublicCalls,
    ];

    /// The kind's name in logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::SaleWrites => "sale_writes",
            Kind::SaleReads => "sale_reads",
            Kind::QueueCalls => "queue_calls",
            Kind::PublicCalls => "public_calls",
        }
    }

    fn index(self) -> usize {
        match self {
            Kind::SaleWrites => 0,
            Kind::SaleReads => 1,
            Kind::QueueCalls => 2,
            Kind::PublicCalls => 3,
        }
    }
}

/// The bounds of an instance's pools (0: unbounded) and how long a request may wait.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bounds {
    /// Concurrent operations per kind, in the order of [`Kind::ALL`]; 0 is unbounded.
    pub per_kind: [usize; 4],
    /// Longest wait for a permit before the request is shed.
    pub wait: Duration,
    /// The least retry hint a shed request gets.
    pub retry_after_min: Duration,
}

impl Bounds {
    /// The bounds the configuration asks for; a kind left unset gets its share of the
    /// Postgres pool (see the module's doc).
    pub fn from_config(config: &Config) -> Self {
        let pool = usize::try_from(config.db_max_connections).unwrap_or(usize::MAX);
        let share = |set: Option<usize>, numerator: usize, denominator: usize| {
            set.unwrap_or_else(|| (pool.saturating_mul(numerator) / denominator).max(1))
        };
        Self {
            per_kind: [
                share(config.shed_sale_writes, 1, 2),
                share(config.shed_sale_reads, 1, 4),
                share(config.shed_queue_calls, 2, 1),
                share(config.shed_public_calls, 1, 4),
            ],
            wait: Duration::from_millis(config.shed_wait_ms),
            retry_after_min: Duration::from_millis(config.shed_retry_after_ms.max(1)),
        }
    }
}

/// The instance's permit pools: cheap to clone, shared by every request.
#[derive(Clone)]
pub struct Shed {
    inner: Arc<Inner>,
}

struct Inner {
    pools: [Pool; 4],
    wait: Duration,
    retry_after_min_ms: u64,
}

/// One kind's pool and counters.
struct Pool {
    /// `None` when the kind is unbounded.
    permits: Option<Arc<Semaphore>>,
    bound: usize,
    /// Operations holding a permit now.
    in_flight: AtomicU64,
    /// Requests waiting for a permit now.
    waiting: AtomicU64,
    admitted: AtomicU64,
    shed: AtomicU64,
    /// Moving average of how long a permit is held, in microseconds (the retry hint).
    held_micros: AtomicU64,
}

/// One kind's counters at a moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KindSnapshot {
    pub kind: Kind,
    /// The bound; 0 is unbounded.
    pub bound: usize,
    /// Operations holding a permit now.
    pub in_flight: u64,
    /// Requests waiting for a permit now.
    pub waiting: u64,
    /// Requests that got a permit since start.
    pub admitted: u64,
    /// Requests answered `BUSY` since start.
    pub shed: u64,
}

/// Every kind's counters, in the order of [`Kind::ALL`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    pub kinds: Vec<KindSnapshot>,
}

impl Snapshot {
    /// The counters of one kind.
    pub fn of(&self, kind: Kind) -> KindSnapshot {
        self.kinds[kind.index()]
    }
}

/// Leave to do one operation's database work; freed when dropped.
#[must_use = "the permit is the leave: dropping it frees it"]
pub struct Permit {
    _permit: Option<OwnedSemaphorePermit>,
    inner: Arc<Inner>,
    kind: Kind,
    since: Instant,
}

impl Drop for Permit {
    fn drop(&mut self) {
        let pool = &self.inner.pools[self.kind.index()];
        pool.in_flight.fetch_sub(1, Ordering::Relaxed);
        let micros = u64::try_from(self.since.elapsed().as_micros()).unwrap_or(u64::MAX);
        // An average over roughly the last eight operations: a lost race between two
        // updates loses one sample, which a hint can afford.
        let before = pool.held_micros.load(Ordering::Relaxed);
        let after = if before == 0 {
            micros
        } else {
            before - before / 8 + micros / 8
        };
        pool.held_micros.store(after, Ordering::Relaxed);
    }
}

impl Shed {
    /// Pools with these bounds.
    pub fn new(bounds: Bounds) -> Self {
        let pool = |bound: usize| Pool {
            permits: (bound > 0).then(|| Arc::new(Semaphore::new(bound))),
            bound,
            in_flight: AtomicU64::new(0),
            waiting: AtomicU64::new(0),
            admitted: AtomicU64::new(0),
            shed: AtomicU64::new(0),
            held_micros: AtomicU64::new(0),
        };
        let [writes, reads, queue, public] = bounds.per_kind;
        Self {
            inner: Arc::new(Inner {
                pools: [pool(writes), pool(reads), pool(queue), pool(public)],
                wait: bounds.wait,
                retry_after_min_ms: u64::try_from(bounds.retry_after_min.as_millis())
                    .unwrap_or(u64::MAX),
            }),
        }
    }

    /// Pools with the configured bounds.
    pub fn from_config(config: &Config) -> Self {
        Self::new(Bounds::from_config(config))
    }

    /// A permit of `kind`, waiting at most the configured wait; `BUSY` with a retry hint
    /// when none frees in time.
    pub async fn acquire(&self, kind: Kind) -> Result<Permit, ApiError> {
        let pool = &self.inner.pools[kind.index()];
        let permit = match &pool.permits {
            None => None,
            Some(permits) => {
                let permit = match permits.clone().try_acquire_owned() {
                    Ok(permit) => Some(permit),
                    Err(_) if self.inner.wait.is_zero() => None,
                    Err(_) => {
                        pool.waiting.fetch_add(1, Ordering::Relaxed);
                        let waited =
                            tokio::time::timeout(self.inner.wait, permits.clone().acquire_owned())
                                .await;
                        pool.waiting.fetch_sub(1, Ordering::Relaxed);
                        // The semaphore is never closed, so an error here is only the timeout.
                        waited.ok().and_then(Result::ok)
                    }
                };
                let Some(permit) = permit else {
                    pool.shed.fetch_add(1, Ordering::Relaxed);
                    return Err(ApiError::Busy {
                        retry_after_ms: self.retry_after_ms(kind),
                    });
                };
                Some(permit)
            }
        };
        pool.admitted.fetch_add(1, Ordering::Relaxed);
        pool.in_flight.fetch_add(1, Ordering::Relaxed);
        Ok(Permit {
            _permit: permit,
            inner: self.inner.clone(),
            kind,
            since: Instant::now(),
        })
    }

    /// When a shed request of `kind` may expect a permit: the backlog (waiting and in
    /// flight) drained at the bound's parallelism at the average time a permit is held;
    /// never less than the configured least hint, nor more than 30 times it.
    pub fn retry_after_ms(&self, kind: Kind) -> u64 {
        let pool = &self.inner.pools[kind.index()];
        let backlog = pool.waiting.load(Ordering::Relaxed) + pool.in_flight.load(Ordering::Relaxed);
        let bound = u64::try_from(pool.bound.max(1)).unwrap_or(u64::MAX);
        let drain_ms = pool
            .held_micros
            .load(Ordering::Relaxed)
            .saturating_mul(backlog)
            / bound
            / 1_000;
        let least = self.inner.retry_after_min_ms;
        drain_ms.clamp(least, least.saturating_mul(30))
    }

    /// Every kind's bound and counters now.
    pub fn snapshot(&self) -> Snapshot {
        let kinds = Kind::ALL
            .iter()
            .map(|&kind| {
                let pool = &self.inner.pools[kind.index()];
                KindSnapshot {
                    kind,
                    bound: pool.bound,
                    in_flight: pool.in_flight.load(Ordering::Relaxed),
                    waiting: pool.waiting.load(Ordering::Relaxed),
                    admitted: pool.admitted.load(Ordering::Relaxed),
                    shed: pool.shed.load(Ordering::Relaxed),
                }
            })
            .collect();
        Snapshot { kinds }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shed(bound: usize) -> Shed {
        Shed::new(Bounds {
            per_kind: [bound, bound, bound, 0],
            wait: Duration::ZERO,
            retry_after_min: Duration::from_millis(700),
        })
    }

    #[tokio::test]
    async fn past_its_bound_a_kind_answers_busy_and_counts_it() {
        let shed = shed(2);
        let first = shed.acquire(Kind::SaleWrites).await.expect("first");
        let _second = shed.acquire(Kind::SaleWrites).await.expect("second");
        let refused = shed.acquire(Kind::SaleWrites).await.err();
        assert!(
            matches!(refused, Some(ApiError::Busy { retry_after_ms }) if retry_after_ms >= 700),
            "{refused:?}"
        );
        let counts = shed.snapshot().of(Kind::SaleWrites);
        assert_eq!((counts.in_flight, counts.admitted, counts.shed), (2, 2, 1));
        drop(first);
        assert!(
            shed.acquire(Kind::SaleWrites).await.is_ok(),
            "a freed permit is taken"
        );
        assert_eq!(shed.snapshot().of(Kind::SaleWrites).in_flight, 1);
    }

    #[tokio::test]
    async fn one_saturated_kind_never_blocks_another() {
        let shed = shed(1);
        let _write = shed.acquire(Kind::SaleWrites).await.expect("write");
        assert!(shed.acquire(Kind::SaleWrites).await.is_err());
        assert!(shed.acquire(Kind::QueueCalls).await.is_ok());
        assert!(shed.acquire(Kind::SaleReads).await.is_ok());
    }

    #[tokio::test]
    async fn a_bound_of_zero_is_unbounded_but_counted() {
        let shed = shed(1);
        let held: Vec<_> =
            futures_util::future::join_all((0..50).map(|_| shed.acquire(Kind::PublicCalls))).await;
        assert!(held.iter().all(Result::is_ok));
        assert_eq!(shed.snapshot().of(Kind::PublicCalls).in_flight, 50);
    }

    #[tokio::test]
    async fn a_waiting_request_gets_the_permit_freed_within_its_wait() {
        let shed = Shed::new(Bounds {
            per_kind: [1, 1, 1, 1],
            // Long enough never to run out in this test: the permit is freed right away.
            wait: Duration::from_secs(60),
            retry_after_min: Duration::from_millis(1),
        });
        let held = shed.acquire(Kind::SaleReads).await.expect("held");
        let waiter = tokio::spawn({
            let shed = shed.clone();
            async move { shed.acquire(Kind::SaleReads).await.map(drop) }
        });
        while shed.snapshot().of(Kind::SaleReads).waiting == 0 {
            tokio::task::yield_now().await;
        }
        drop(held);
        assert!(waiter.await.expect("joined").is_ok());
        assert_eq!(shed.snapshot().of(Kind::SaleReads).shed, 0);
    }

    #[test]
    fn unset_bounds_split_the_database_pool() {
        let mut config = Config::local_defaults();
        config.db_max_connections = 20;
        let bounds = Bounds::from_config(&config);
        assert_eq!(bounds.per_kind, [10, 5, 40, 5]);
        config.db_max_connections = 1;
        config.shed_sale_reads = Some(0);
        assert_eq!(Bounds::from_config(&config).per_kind, [1, 0, 2, 1]);
    }
}
