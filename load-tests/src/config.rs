//! The command line: one subcommand per scenario, sharing the run options (target, arrivals,
//! accounts, reports, thresholds, audit connections).

use std::{path::PathBuf, time::Duration};

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Load tests and benchmarks for the ticketing system. Loopback targets only.
#[derive(Debug, Parser)]
#[command(name = "load-tests", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// The scenarios and tools.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// N fans arrive over a ramp, join the queue, hold a `queuePosition` subscription (or
    /// poll with `heartbeat`), wait to be admitted, stay a while, and leave.
    QueueRush(QueueRushArgs),
    /// Admitted fans race for seats: seat map, hold, book, pay; some fail payment, retry,
    /// abandon or walk away.
    SeatRush(SeatRushArgs),
    /// The whole path with think times: sign up, events, join, wait, seat map, hold, book,
    /// pay, my bookings.
    Journey(JourneyArgs),
    /// Seat map, availability and seat pages read by admitted fans (driven by goose).
    Browse(BrowseArgs),
    /// Closed-loop maximum rate of one operation, for the baselines (`baselines.sh`).
    MaxRate(MaxRateArgs),
    /// Time `seatMap` and 100-seat `seats` pages of one event, one request at a time.
    ReadBench(ReadBenchArgs),
    /// Print the SHA1 of the queue's join script (for `redis-benchmark EVALSHA`).
    #[command(hide = true)]
    JoinScriptSha,
}

/// How arrivals are spaced.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ArrivalProcess {
    /// Exponential gaps (a Poisson process): how independent people arrive.
    Poisson,
    /// Evenly spaced: the same load every run, easier to compare.
    Uniform,
}

/// Options every rush scenario shares.
#[derive(Clone, Debug, Args, serde::Serialize)]
pub struct RunArgs {
    /// Base URL for HTTP (normally the gateway). Loopback only.
    #[arg(long, default_value = "http://127.0.0.1:8000")]
    pub target: String,
    /// Base URLs for WebSockets, comma-separated, spread round-robin over fans (several
    /// gateways or API instances hold more sockets than one process may). Default: target.
    #[arg(long, value_delimiter = ',')]
    pub ws_target: Vec<String>,
    /// Event id to rush.
    #[arg(long, conflicts_with = "event_slug")]
    pub event: Option<i64>,
    /// Event slug to rush, e.g. `load-test-5000` (what `graphql-api seed --seats N` made).
    #[arg(long)]
    pub event_slug: Option<String>,
    /// Fans in the run (an upper bound: the run also stops at --duration).
    #[arg(long, default_value_t = 1_000)]
    pub fans: u32,
    /// Arrivals per second once ramped up (open model: a late fan never delays the next).
    #[arg(long, default_value_t = 100.0)]
    pub rate: f64,
    /// Seconds over which the arrival rate climbs linearly from 0 to --rate.
    #[arg(long, default_value_t = 0.0)]
    pub ramp: f64,
    /// Longest arrival window in seconds (fans not arrived by then never arrive).
    #[arg(long, default_value_t = 600.0)]
    pub duration: f64,
    /// Hard stop in seconds after the first arrival: fans still busy are cut off and counted.
    #[arg(long, default_value_t = 900.0)]
    pub max_run: f64,
    /// How arrivals are spaced.
    #[arg(long, value_enum, default_value_t = ArrivalProcess::Poisson)]
    pub arrivals: ArrivalProcess,
    /// Seed of every random choice (arrivals, seats, payment outcomes, think times).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Source addresses 127.0.0.2.. to spread connections over (per-IP limits, port ranges).
    #[arg(long, default_value_t = 32)]
    pub source_ips: u8,
    /// Load-generator processes (each may hold ~19,000 sockets here). Fans are dealt out
    /// round-robin; one report comes out.
    #[arg(long, default_value_t = 1)]
    pub workers: u32,
    /// Most HTTP requests in flight per process; time spent waiting for a slot is part of the
    /// measured latency and is also reported on its own (`client.wait`).
    #[arg(long, default_value_t = 4_096)]
    pub max_in_flight: usize,
    /// HTTP request timeout, in seconds.
    #[arg(long, default_value_t = 30.0)]
    pub http_timeout: f64,
    /// Concurrent sign-ups while preparing accounts (not part of the rush's numbers).
    #[arg(long, default_value_t = 48)]
    pub signup_concurrency: usize,
    /// Admin account for queue controls and stats; registered when missing (its email must
    /// be in the API's ADMIN_EMAILS).
    #[arg(
        long,
        env = "LOADTEST_ADMIN_EMAIL",
        default_value = "loadtest-admin@load.test"
    )]
    pub admin_email: String,
    /// The admin account's password.
    #[arg(
        long,
        env = "LOADTEST_ADMIN_PASSWORD",
        default_value = "load-test-admin-password",
        hide_default_value = true
    )]
    #[serde(skip)]
    pub admin_password: String,
    /// Set the event's admission rate (fans/s) before the run.
    #[arg(long)]
    pub admission_rate: Option<f64>,
    /// Set the event's admission capacity (fans admitted at once) before the run.
    #[arg(long)]
    pub admission_capacity: Option<u32>,
    /// Pause admissions until every fan has joined, then resume: the sale opens on a full
    /// queue (how to hold N fans in the queue at once).
    #[arg(long)]
    pub open_after_joined: bool,
    /// Redis of the system under test (audit and sampling).
    #[arg(long, env = "REDIS_URL", default_value = "redis://127.0.0.1:6379/0")]
    pub redis_url: String,
    /// The API's REDIS_KEY_PREFIX.
    #[arg(long, env = "REDIS_KEY_PREFIX", default_value = "tix:")]
    pub redis_key_prefix: String,
    /// Postgres of the system under test (audit).
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/tickets"
    )]
    pub database_url: String,
    /// Sampling period of queue length, admitted count and process CPU, in ms.
    #[arg(long, default_value_t = 250)]
    pub sample_ms: u64,
    /// Processes whose CPU and memory to sample: `name=pid` (repeatable or comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub watch: Vec<String>,
    /// Pass/fail rules, e.g. `p99<500ms`, `lockSeats.p99<300ms`, `error-rate<1%`,
    /// `sub.lag.p99<1s`. Any failure sets a non-zero exit code, as does a failed audit.
    #[arg(long = "threshold", value_delimiter = ',')]
    pub thresholds: Vec<String>,
    /// Folder for report.json and report.html (default: target/load-tests/<scenario>-<time>).
    #[arg(long)]
    pub report_dir: Option<PathBuf>,
    /// Faults to inject while fans run, `KIND@WHEN` from the first arrival, comma-separated:
    /// `redis-restart@30s,api-kill@60s,postgres-restart@90s,gateway-upgrade@120s`. Each runs
    /// `--chaos-command KIND`; the report shows each fault and the errors around it.
    #[arg(long, value_delimiter = ',')]
    pub chaos: Vec<crate::chaos::Fault>,
    /// The program that injects a fault, given its kind (`load-tests/chaos.sh` knows the
    /// stack `scale-runs.sh` starts).
    #[arg(long, env = "CHAOS_COMMAND", default_value = "load-tests/chaos.sh")]
    pub chaos_command: PathBuf,
    /// No live progress line.
    #[arg(long)]
    pub quiet: bool,
    /// Internal: this process is worker `index` of `count`, started by a coordinator.
    #[arg(long, hide = true, num_args = 2, value_names = ["INDEX", "COUNT"])]
    pub worker_of: Option<Vec<u32>>,
    /// Internal: the run id the coordinator chose (accounts are named after it).
    #[arg(long, hide = true)]
    pub run_id: Option<String>,
}

impl RunArgs {
    /// The HTTP request timeout.
    pub fn http_timeout(&self) -> Duration {
        Duration::from_secs_f64(self.http_timeout.max(0.1))
    }

    /// `(index, count)` when this process is a worker.
    pub fn worker(&self) -> Option<(u32, u32)> {
        match self.worker_of.as_deref() {
            Some([index, count]) => Some((*index, *count)),
            _ => None,
        }
    }

    /// WebSocket base URLs (the HTTP target when none were given).
    pub fn ws_targets(&self) -> Vec<String> {
        if self.ws_target.is_empty() {
            vec![self.target.clone()]
        } else {
            self.ws_target.clone()
        }
    }
}

/// How waiting fans learn about their turn.
#[derive(Clone, Debug, Args, serde::Serialize)]
pub struct WaitArgs {
    /// Share of fans (0..=1) that hold a `queuePosition` subscription; the rest poll
    /// `heartbeat` every --poll-secs.
    #[arg(long, default_value_t = 1.0)]
    pub subscribe_share: f64,
    /// Seconds between a polling fan's heartbeats (must stay under the API's
    /// QUEUE_ABANDON_AFTER_SECS, or fans are skipped as abandoned).
    #[arg(long, default_value_t = 20.0)]
    pub poll_secs: f64,
    /// Longest a fan waits to be admitted, in seconds, before giving up.
    #[arg(long, default_value_t = 900.0)]
    pub max_wait: f64,
}

/// `queue-rush` options.
#[derive(Clone, Debug, Args, serde::Serialize)]
pub struct QueueRushArgs {
    #[command(flatten)]
    pub run: RunArgs,
    #[command(flatten)]
    pub wait: WaitArgs,
    /// Mean time an admitted fan stays before leaving the queue (freeing the slot), in ms.
    #[arg(long, default_value_t = 2_000.0)]
    pub dwell_ms: f64,
}

/// `seat-rush` options.
#[derive(Clone, Debug, Args, serde::Serialize)]
pub struct SeatRushArgs {
    #[command(flatten)]
    pub run: RunArgs,
    #[command(flatten)]
    pub wait: WaitArgs,
    #[command(flatten)]
    pub buy: BuyArgs,
}

/// How admitted fans buy.
#[derive(Clone, Debug, Args, serde::Serialize)]
pub struct BuyArgs {
    /// Party sizes drawn uniformly (repeat a size to weight it); capped by the fan's seat cap.
    #[arg(long, value_delimiter = ',', default_value = "1,2,2,2,3,4")]
    pub party_sizes: Vec<u32>,
    /// Mean think time between a fan's steps, in ms (exponential).
    #[arg(long, default_value_t = 300.0)]
    pub think_ms: f64,
    /// Payment outcomes with weights, e.g. `pay=80,decline-retry=6,decline-give-up=4,
    /// release=5,walk-away=3,timeout-retry=2`.
    #[arg(
        long,
        default_value = "pay=80,decline-retry=6,decline-give-up=4,release=5,walk-away=3,timeout-retry=2"
    )]
    pub pay_mix: String,
    /// Hold attempts before a fan gives up (each SEAT_TAKEN marks those seats taken).
    #[arg(long, default_value_t = 8)]
    pub max_attempts: u32,
    /// Seat-map refreshes a fan makes when it shows nothing free before deciding it is sold out.
    #[arg(long, default_value_t = 2)]
    pub sold_out_checks: u32,
}

/// `journey` options.
#[derive(Clone, Debug, Args, serde::Serialize)]
pub struct JourneyArgs {
    #[command(flatten)]
    pub run: RunArgs,
    #[command(flatten)]
    pub wait: WaitArgs,
    #[command(flatten)]
    pub buy: BuyArgs,
    /// Mean think time on the public pages (events list, event page), in ms.
    #[arg(long, default_value_t = 2_000.0)]
    pub browse_think_ms: f64,
}

/// `browse` options.
#[derive(Clone, Debug, Args, serde::Serialize)]
pub struct BrowseArgs {
    #[command(flatten)]
    pub run: RunArgs,
    /// Admitted sessions whose tokens browsers use (the gateway limits each fan's rate).
    #[arg(long, default_value_t = 50)]
    pub sessions: u32,
    /// Reads per browsing visit (seat map, then availability and seat pages).
    #[arg(long, default_value_t = 5)]
    pub reads_per_visit: u32,
    /// Mean think time between reads, in ms.
    #[arg(long, default_value_t = 500.0)]
    pub think_ms: f64,
    /// goose's coordinated-omission mitigation (`disabled`, `average`, `minimum`, `maximum`).
    #[arg(long, default_value = "average")]
    pub co_mitigation: String,
}

/// The operation `max-rate` repeats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MaxRateOp {
    /// `joinQueue` with a different fan each time.
    Join,
    /// `lockSeats` of one seat then `releaseSeats`, on a small hot set of seats.
    Hold,
    /// `{ __typename }` on the public schema (the cost of a proxy hop and GraphQL itself).
    Typename,
}

/// `max-rate` options.
#[derive(Clone, Debug, Args, serde::Serialize)]
pub struct MaxRateArgs {
    #[command(flatten)]
    pub run: RunArgs,
    /// The operation to repeat.
    #[arg(long, value_enum)]
    pub op: MaxRateOp,
    /// Concurrent loops.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// Seconds to measure (after a 2 s warm-up).
    #[arg(long, default_value_t = 15.0)]
    pub seconds: f64,
    /// Admitted fans to spread `hold` over (each holds at most one seat at a time).
    #[arg(long, default_value_t = 64)]
    pub hold_fans: u32,
}

/// `read-bench` options.
#[derive(Clone, Debug, Args)]
pub struct ReadBenchArgs {
    /// Base URL of the API or gateway.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// Event id to read.
    #[arg(long)]
    pub event: i64,
    /// Requests per measured operation.
    #[arg(long, default_value_t = 200)]
    pub requests: u32,
}
