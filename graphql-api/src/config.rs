//! Configuration, read once from the command line and environment, with local defaults.

use std::{net::SocketAddr, time::Duration};

use clap::{Args, Parser, Subcommand, ValueEnum};
use secrecy::SecretString;

/// The ticketing API server and its tools.
#[derive(Debug, Parser)]
#[command(name = "graphql-api", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub config: Config,
}

/// What to do; `serve` when none is given.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Migrate the database, then serve the API (the default).
    Serve,
    /// Apply (or roll back) database migrations and exit.
    Migrate {
        /// `up` applies pending migrations, `down` rolls back the last one, `fresh` drops
        /// everything and re-applies, `status` lists them.
        #[arg(value_enum, default_value_t = MigrateAction::Up)]
        action: MigrateAction,
    },
    /// Load the demo stadium show (idempotent), or a large event for load tests.
    Seed(SeedArgs),
    /// Print the schemas' SDL, or write them to the checked-in files.
    Sdl {
        /// Write `schema.public.graphql` and `schema.sale.graphql` into this folder.
        #[arg(long)]
        write: Option<std::path::PathBuf>,
    },
    /// Print the table of error codes as the README shows it.
    ErrorCodes,
    /// Check a presale lottery's revealed draw against its commitment.
    Lottery {
        #[command(subcommand)]
        action: LotteryAction,
    },
}

/// Lottery tools.
#[derive(Debug, Subcommand)]
pub enum LotteryAction {
    /// Verify a revealed draw: the seed hashes to the commitment, the commitment came before
    /// the close, and the entrants are in the seed's order. Exits 1 on any flaw.
    Verify(VerifyArgs),
}

/// Options of `lottery verify`.
#[derive(Clone, Debug, Args)]
pub struct VerifyArgs {
    /// The public `lottery` query's answer as JSON (the whole response or its `lottery`
    /// object) with every entrant listed; `-` reads standard input.
    #[arg(long)]
    pub file: std::path::PathBuf,
    /// The commitment you kept from before the close: it must be the one revealed.
    #[arg(long)]
    pub commitment: Option<String>,
    /// Your entrant id (`queueStatus.lotteryEntrant`): prints your ticket in the draw.
    #[arg(long)]
    pub entrant: Option<String>,
}

/// Migration actions.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum MigrateAction {
    Up,
    Down,
    Fresh,
    Status,
}

/// Options of the `seed` command.
#[derive(Clone, Debug, Args)]
pub struct SeedArgs {
    /// Also (or instead) make a load-test event with this many seats, e.g. 1000000.
    #[arg(long)]
    pub seats: Option<u32>,
    /// Skip the demo show (with `--seats`: load only the large event).
    #[arg(long)]
    pub no_demo: bool,
}

/// Postgres's `plan_cache_mode`: how a prepared statement is planned on each run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum PlanCacheMode {
    /// Postgres decides (custom plans for the first five runs, then compares costs).
    Auto,
    /// One plan per statement and connection, whatever the parameters.
    ForceGenericPlan,
    /// A new plan on every run, for the parameters given.
    ForceCustomPlan,
}

impl PlanCacheMode {
    /// The setting's value as Postgres spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            PlanCacheMode::Auto => "auto",
            PlanCacheMode::ForceGenericPlan => "force_generic_plan",
            PlanCacheMode::ForceCustomPlan => "force_custom_plan",
        }
    }
}

/// How logs are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Readable lines for a terminal.
    Human,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Everything the server reads from its environment. See the README's table.
#[derive(Clone, Debug, Args)]
pub struct Config {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, env = "API_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,
    /// Postgres URL.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/tickets",
        hide_env_values = true
    )]
    pub database_url: SecretString,
    /// Connections in this instance's Postgres pool (keep pool x instances < max_connections).
    #[arg(long, env = "DB_MAX_CONNECTIONS", default_value_t = 20)]
    pub db_max_connections: u32,
    /// How long a request waits for a pooled connection before failing, in ms.
    #[arg(long, env = "DB_ACQUIRE_TIMEOUT_MS", default_value_t = 3_000)]
    pub db_acquire_timeout_ms: u64,
    /// Longest a request waits for a permit of its kind before it is answered `BUSY`, in ms
    /// (keep it well below `DB_ACQUIRE_TIMEOUT_MS`); 0 sheds at once.
    #[arg(long, env = "SHED_WAIT_MS", default_value_t = 250)]
    pub shed_wait_ms: u64,
    /// The least `retryAfterMs` a `BUSY` answer carries, in ms (more when the backlog is long).
    #[arg(long, env = "SHED_RETRY_AFTER_MS", default_value_t = 1_000)]
    pub shed_retry_after_ms: u64,
    /// Concurrent sale mutations per instance (unset: half of `DB_MAX_CONNECTIONS`; 0:
    /// unbounded).
    #[arg(long, env = "SHED_SALE_WRITES")]
    pub shed_sale_writes: Option<usize>,
    /// Concurrent sale queries per instance (unset: a quarter of `DB_MAX_CONNECTIONS`; 0:
    /// unbounded).
    #[arg(long, env = "SHED_SALE_READS")]
    pub shed_sale_reads: Option<usize>,
    /// Concurrent queue operations of fans per instance (unset: twice `DB_MAX_CONNECTIONS`;
    /// 0: unbounded).
    #[arg(long, env = "SHED_QUEUE_CALLS")]
    pub shed_queue_calls: Option<usize>,
    /// Concurrent other public operations (events, accounts) per instance (unset: a quarter
    /// of `DB_MAX_CONNECTIONS`; 0: unbounded).
    #[arg(long, env = "SHED_PUBLIC_CALLS")]
    pub shed_public_calls: Option<usize>,
    /// Postgres `statement_timeout` for the pool, in ms.
    #[arg(long, env = "DB_STATEMENT_TIMEOUT_MS", default_value_t = 10_000)]
    pub db_statement_timeout_ms: u64,
    /// Postgres `plan_cache_mode` for the pool's connections. `force_generic_plan` plans
    /// each prepared statement once per connection: the sale path's one-statement mutations
    /// otherwise get a fresh custom plan on every run, and planning cost more than running.
    #[arg(long, env = "DB_PLAN_CACHE_MODE", value_enum, default_value_t = PlanCacheMode::ForceGenericPlan)]
    pub db_plan_cache_mode: PlanCacheMode,
    /// Redis URL: `redis://` for one server, `redis-cluster://host:port?node=host:port` for a
    /// Redis Cluster.
    #[arg(
        long,
        env = "REDIS_URL",
        default_value = "redis://127.0.0.1:6379/0",
        hide_env_values = true
    )]
    pub redis_url: SecretString,
    /// Prefix of every Redis key this instance uses (tests give each run its own).
    #[arg(long, env = "REDIS_KEY_PREFIX", default_value = "tix:")]
    pub redis_key_prefix: String,
    /// Timeout of one Redis command, in ms.
    #[arg(long, env = "REDIS_COMMAND_TIMEOUT_MS", default_value_t = 2_000)]
    pub redis_command_timeout_ms: u64,
    /// `human` or `json`. Verbosity comes from `RUST_LOG` (default `info`).
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Human)]
    pub log_format: LogFormat,
    /// Deepest nesting of fields a query may have.
    #[arg(long, env = "GRAPHQL_MAX_DEPTH", default_value_t = 15)]
    pub graphql_max_depth: usize,
    /// Highest estimated cost of a query (a list field costs its page size times its items).
    #[arg(long, env = "GRAPHQL_MAX_COMPLEXITY", default_value_t = 10_000)]
    pub graphql_max_complexity: usize,
    /// Largest `first` accepted by paginated fields.
    #[arg(long, env = "SEATS_MAX_PAGE", default_value_t = 500)]
    pub seats_max_page: u32,
    /// Largest request body accepted, in bytes.
    #[arg(long, env = "MAX_BODY_BYTES", default_value_t = 256 * 1024)]
    pub max_body_bytes: usize,
    /// How long in-flight requests may finish after SIGTERM, in seconds.
    #[arg(long, env = "SHUTDOWN_GRACE_SECS", default_value_t = 10)]
    pub shutdown_grace_secs: u64,
    /// Folder of the built web client to serve at `/` (none: the API serves no files).
    #[arg(long, env = "CLIENT_DIR")]
    pub client_dir: Option<std::path::PathBuf>,

    /// Keys of sign-in access tokens, `kid:secret[,kid:secret]`; the first signs.
    #[arg(long, env = "ACCESS_TOKEN_KEYS", default_value = DEV_ACCESS_KEYS, hide_env_values = true, hide_default_value = true)]
    pub access_token_keys: SecretString,
    /// Lifetime of an access token, in seconds.
    #[arg(long, env = "ACCESS_TOKEN_TTL_SECS", default_value_t = 900)]
    pub access_token_ttl_secs: i64,
    /// Lifetime of a refresh token, in seconds.
    #[arg(long, env = "REFRESH_TOKEN_TTL_SECS", default_value_t = 30 * 24 * 3600)]
    pub refresh_token_ttl_secs: i64,
    /// Keys of admission (queue) tokens, shared with the gateway; the first signs.
    #[arg(long, env = "ADMISSION_TOKEN_KEYS", default_value = tokens::DEV_ADMISSION_KEYS, hide_env_values = true, hide_default_value = true)]
    pub admission_token_keys: SecretString,
    /// How long an admission lasts, in seconds.
    #[arg(long, env = "ADMISSION_TTL_SECS", default_value_t = 900)]
    pub admission_ttl_secs: i64,
    /// How long an admission's token keeps passing after its fan bought, in seconds: the
    /// slot goes to the next fan at once, but a `confirmPayment` retried because its answer
    /// was lost (a dropped connection, an instance killed) must reach its recorded result.
    #[arg(
        long,
        env = "ADMISSION_GRACE_AFTER_PURCHASE_SECS",
        default_value_t = 120
    )]
    pub admission_grace_after_purchase_secs: u64,
    /// Emails that get the admin role (comma-separated): the first admin comes from here.
    #[arg(long, env = "ADMIN_EMAILS", value_delimiter = ',', default_value = "")]
    pub admin_emails: Vec<String>,
    /// Argon2id memory cost in KiB (OWASP's minimum is 19456).
    #[arg(long, env = "ARGON2_MEMORY_KIB", default_value_t = 19_456)]
    pub argon2_memory_kib: u32,
    /// Argon2id iterations.
    #[arg(long, env = "ARGON2_ITERATIONS", default_value_t = 2)]
    pub argon2_iterations: u32,
    /// Failed sign-ins to one account before further attempts are slowed down.
    #[arg(long, env = "LOGIN_MAX_FAILURES", default_value_t = 5)]
    pub login_max_failures: u32,
    /// First lock-out after too many failures, in seconds (doubles each further failure, up
    /// to 15 minutes).
    #[arg(long, env = "LOGIN_LOCK_SECS", default_value_t = 30)]
    pub login_lock_secs: u64,

    /// Fans admitted per second per event, unless an admin set another rate.
    #[arg(long, env = "QUEUE_ADMISSION_RATE", default_value_t = 50.0)]
    pub queue_admission_rate: f64,
    /// Most fans admitted at once per event, unless an admin set another capacity.
    #[arg(long, env = "QUEUE_ADMISSION_CAPACITY", default_value_t = 1_000)]
    pub queue_admission_capacity: u32,
    /// How often the admission ticker runs, in ms.
    #[arg(long, env = "QUEUE_TICK_MS", default_value_t = 250)]
    pub queue_tick_ms: u64,
    /// A waiting fan with no live subscription or heartbeat for this long is skipped and
    /// marked abandoned when their turn comes, in seconds.
    #[arg(long, env = "QUEUE_ABANDON_AFTER_SECS", default_value_t = 60)]
    pub queue_abandon_after_secs: u64,
    /// How often live position updates are sent at the latest, in seconds.
    #[arg(long, env = "QUEUE_UPDATE_SECS", default_value_t = 5)]
    pub queue_update_secs: u64,
    /// How often a subscription corrects its estimate with an exact rank, in seconds.
    #[arg(long, env = "QUEUE_EXACT_RANK_SECS", default_value_t = 60)]
    pub queue_exact_rank_secs: u64,
    /// Let the autopilot set each event's admission rate and cap from the sale path's health
    /// (off: the configured or admin-set values stay, as before the autopilot).
    #[arg(long, env = "AUTOPILOT_ENABLED", default_value_t = true, action = clap::ArgAction::Set)]
    pub autopilot_enabled: bool,
    /// The sale mutations' p99 latency the autopilot keeps under, in ms.
    #[arg(long, env = "AUTOPILOT_TARGET_P99_MS", default_value_t = 400)]
    pub autopilot_target_p99_ms: u64,
    /// The autopilot changes an event's limits at most once per this many ms.
    #[arg(long, env = "AUTOPILOT_INTERVAL_MS", default_value_t = 3_000)]
    pub autopilot_interval_ms: u64,
    /// How often each instance reports its sale health to Redis, in ms (the window it reports).
    #[arg(long, env = "AUTOPILOT_REPORT_MS", default_value_t = 1_000)]
    pub autopilot_report_ms: u64,
    /// Lowest admission rate the autopilot sets, unless an admin set other bounds.
    #[arg(long, env = "AUTOPILOT_MIN_RATE", default_value_t = 1.0)]
    pub autopilot_min_rate: f64,
    /// Highest admission rate the autopilot sets (default: `QUEUE_ADMISSION_RATE`).
    #[arg(long, env = "AUTOPILOT_MAX_RATE")]
    pub autopilot_max_rate: Option<f64>,
    /// Lowest shopper cap the autopilot sets, unless an admin set other bounds.
    #[arg(long, env = "AUTOPILOT_MIN_CAPACITY", default_value_t = 10)]
    pub autopilot_min_capacity: u32,
    /// Highest shopper cap the autopilot sets (default: `QUEUE_ADMISSION_CAPACITY`).
    #[arg(long, env = "AUTOPILOT_MAX_CAPACITY")]
    pub autopilot_max_capacity: Option<u32>,
    /// What a healthy adjustment adds to the rate (fans per second).
    #[arg(long, env = "AUTOPILOT_RATE_STEP", default_value_t = 5.0)]
    pub autopilot_rate_step: f64,
    /// What a healthy adjustment adds to the cap (shoppers).
    #[arg(long, env = "AUTOPILOT_CAPACITY_STEP", default_value_t = 50)]
    pub autopilot_capacity_step: u32,
    /// What a healthy adjustment multiplies the rate and cap by until the event's first
    /// distress, when that is more than a step (1: steps from the start).
    #[arg(long, env = "AUTOPILOT_GROWTH", default_value_t = 1.5)]
    pub autopilot_growth: f64,
    /// What a distressed adjustment multiplies the rate and cap by.
    #[arg(long, env = "AUTOPILOT_CUT_FACTOR", default_value_t = 0.7)]
    pub autopilot_cut_factor: f64,
    /// Share of sale answers that are `BUSY` above which the sale path is in distress.
    #[arg(long, env = "AUTOPILOT_BUSY_SHARE", default_value_t = 0.01)]
    pub autopilot_busy_share: f64,
    /// Share of an instance's Postgres pool in use above which the sale path is in distress.
    #[arg(long, env = "AUTOPILOT_POOL_PRESSURE", default_value_t = 0.9)]
    pub autopilot_pool_pressure: f64,
    /// Sale operations a report window needs before the autopilot trusts it.
    #[arg(long, env = "AUTOPILOT_MIN_SAMPLES", default_value_t = 20)]
    pub autopilot_min_samples: u64,
    /// Run the background workers (admission ticker) in this instance.
    #[arg(long, env = "WORKERS_ENABLED", default_value_t = true, action = clap::ArgAction::Set)]
    pub workers_enabled: bool,
    /// Most subscriptions one WebSocket may hold.
    #[arg(long, env = "WS_MAX_SUBSCRIPTIONS", default_value_t = 8)]
    pub ws_max_subscriptions: usize,
    /// A WebSocket with no message (clients ping) for this long is closed, in seconds.
    #[arg(long, env = "WS_IDLE_TIMEOUT_SECS", default_value_t = 60)]
    pub ws_idle_timeout_secs: u64,
    /// Operations (subscribe messages) one WebSocket may start per second, in bursts of
    /// twice that; 0 turns the budget off.
    #[arg(long, env = "WS_OPERATIONS_PER_SEC", default_value_t = 20)]
    pub ws_operations_per_sec: u32,
    /// Browser origins (`https://app.example`) allowed to call the API from their pages
    /// (CORS), comma-separated; none by default. `*` allows any origin.
    #[arg(long, env = "CORS_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub cors_allowed_origins: Vec<String>,

    /// How long a hold keeps its seats, in seconds.
    #[arg(long, env = "HOLD_DURATION_SECS", default_value_t = 600)]
    pub hold_duration_secs: i64,
    /// How much one `extendHold` adds, in seconds.
    #[arg(long, env = "HOLD_EXTENSION_SECS", default_value_t = 300)]
    pub hold_extension_secs: i64,
    /// How many times a hold may be extended.
    #[arg(long, env = "HOLD_MAX_EXTENSIONS", default_value_t = 1)]
    pub hold_max_extensions: i32,
    /// How often the expiry worker releases run-out holds, in ms.
    #[arg(long, env = "HOLD_SWEEP_MS", default_value_t = 250)]
    pub hold_sweep_ms: u64,
    /// Seat changes are coalesced into one message per subscriber per this many ms.
    #[arg(long, env = "SEAT_BATCH_MS", default_value_t = 150)]
    pub seat_batch_ms: u64,
    /// How long the simulated provider takes before a timeout answer, in ms.
    #[arg(long, env = "PAYMENT_TIMEOUT_MS", default_value_t = 1_500)]
    pub payment_timeout_ms: u64,
    /// A payment still PENDING this long after it was recorded (its instance stopped before
    /// the answer) is settled as timed out; never less than twice `payment_timeout_ms`.
    #[arg(long, env = "PAYMENT_ABANDON_SECS", default_value_t = 120)]
    pub payment_abandon_secs: u64,
    /// Secret of the payment webhook's HMAC-SHA256 signatures.
    #[arg(
        long,
        env = "WEBHOOK_SECRET",
        default_value = "dev-only-webhook-secret-change-me",
        hide_env_values = true,
        hide_default_value = true
    )]
    pub webhook_secret: SecretString,
    /// How long an idempotency key remembers its first result, in seconds.
    #[arg(long, env = "IDEMPOTENCY_TTL_SECS", default_value_t = 24 * 3600)]
    pub idempotency_ttl_secs: i64,
}

/// The webhook secret used when none is configured: fine on a laptop, never in production.
pub const DEV_WEBHOOK_SECRET: &str = "dev-only-webhook-secret-change-me";

/// Access-token keys used when none are configured: fine on a laptop, never in production.
pub const DEV_ACCESS_KEYS: &str = "dev-access:dev-only-access-key-change-me";

impl Config {
    /// The configuration with every default, as a local run gets it.
    pub fn local_defaults() -> Self {
        Cli::parse_from(["graphql-api"]).config
    }

    /// How long a payment may stay PENDING before it counts as abandoned: never less than
    /// twice the provider's own timeout, so a slow answer still in flight is not cut short.
    pub fn payment_abandon_after(&self) -> Duration {
        Duration::from_secs(self.payment_abandon_secs).max(Duration::from_millis(
            self.payment_timeout_ms.saturating_mul(2),
        ))
    }

    pub fn db_acquire_timeout(&self) -> Duration {
        Duration::from_millis(self.db_acquire_timeout_ms)
    }

    pub fn db_statement_timeout(&self) -> Duration {
        Duration::from_millis(self.db_statement_timeout_ms)
    }

    pub fn redis_command_timeout(&self) -> Duration {
        Duration::from_millis(self.redis_command_timeout_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_payment_is_abandoned_no_sooner_than_twice_the_provider_timeout() {
        let mut config = Config::local_defaults();
        config.payment_abandon_secs = 120;
        config.payment_timeout_ms = 1_500;
        assert_eq!(config.payment_abandon_after(), Duration::from_secs(120));
        config.payment_abandon_secs = 1;
        assert_eq!(config.payment_abandon_after(), Duration::from_secs(3));
    }
}
