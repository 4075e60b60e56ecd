//! Configuration: a TOML file (`--config`) under environment overrides, read once at start.
//!
//! Precedence, lowest first: built-in defaults (they run locally), the TOML file, the shared
//! variables the API reads too (`REDIS_URL`, `REDIS_KEY_PREFIX`, `ADMISSION_TOKEN_KEYS`,
//! `LOG_FORMAT`, `CORS_ALLOWED_ORIGINS`), then `GATEWAY_<KEY>` for any key.
//! `gateway/README.md` has the table.
//!
//! This file says what is read and its defaults; [`load`] how it is read and checked;
//! [`secret`] how secrets stay out of logs.

mod load;
mod secret;

use std::path::PathBuf;

use clap::Parser;
use serde::Deserialize;

use self::load::list_or_csv;
pub use self::secret::Secret;

/// The edge gate: proxies fans to the ticketing API, letting only admitted fans reach sales.
#[derive(Clone, Debug, Parser)]
#[command(name = "gateway", version, about)]
pub struct Cli {
    /// A TOML configuration file (see gateway/gateway.example.toml); environment variables
    /// override it.
    #[arg(long, env = "GATEWAY_CONFIG")]
    pub config: Option<PathBuf>,
    /// Print the effective configuration (secrets hidden) and exit.
    #[arg(long)]
    pub print_config: bool,
    /// Take over the listening socket of the gateway running with the same `upgrade_sock`
    /// instead of binding `listen`: wait for it to be sent SIGQUIT (scripts/upgrade-gateway.sh
    /// does both), then serve while it drains and exits.
    #[arg(long)]
    pub upgrade: bool,
}

/// How logs are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One readable line per event.
    Human,
    /// One JSON object per line.
    Json,
}

/// Everything the gateway reads at start.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on for clients.
    pub listen: String,
    /// API instances (`host:port`), load-balanced round robin. From the environment, a
    /// comma-separated list.
    #[serde(deserialize_with = "list_or_csv")]
    pub upstreams: Vec<String>,
    /// Worker threads of the proxy (1 used the least CPU per request on 2 cores).
    pub threads: usize,
    /// Let worker threads take each other's tasks (Tokio's multi-thread scheduler); off,
    /// each thread runs its own single-thread scheduler.
    pub work_stealing: bool,
    /// Redis holding admission records and gate switches: `redis://` for one server,
    /// `redis-cluster://host:port?node=host:port` for a Redis Cluster.
    pub redis_url: Secret,
    /// Prefix of every Redis key: must equal the API's `REDIS_KEY_PREFIX`.
    pub redis_key_prefix: String,
    /// Timeout of one Redis command; past it a sale request fails closed.
    pub redis_command_timeout_ms: u64,
    /// `kid:secret[,kid:secret]`, the API's admission keyring (first signs, all verify).
    pub admission_token_keys: Secret,
    /// Where refusals tell clients to join the queue.
    pub queue_path: String,
    /// How long a token's Redis record (present or absent) is trusted in process: a
    /// revoked token stops passing within this time.
    pub token_cache_ttl_ms: u64,
    /// Most token records cached.
    pub token_cache_capacity: u64,
    /// Most admission tokens remembered as correctly signed, so a fan's later requests skip
    /// the signature check (expiry and event are still checked each time); 0 turns it off.
    pub verified_token_cache_capacity: u64,
    /// How long an event's gate on/off switch is trusted in process.
    pub gate_cache_ttl_ms: u64,
    /// Requests per second one client IP may make on public routes (0: no limit).
    pub public_rate_per_sec: u32,
    /// Burst above that rate one client IP may make on public routes.
    pub public_burst: u32,
    /// Requests per second one admitted fan may make on sale routes (0: no limit).
    pub sale_rate_per_sec: u32,
    /// Burst above that rate one fan may make on sale routes.
    pub sale_burst: u32,
    /// Largest request body, by `Content-Length` or as streamed.
    pub max_body_bytes: usize,
    /// Most concurrent client connections; more are answered 503 and closed.
    pub max_connections: usize,
    /// Time allowed between reads of a new connection's first request headers.
    pub header_timeout_secs: u64,
    /// Time a kept-alive client connection may sit idle between requests.
    pub idle_timeout_secs: u64,
    /// Time allowed between reads of a request body, and between writes to the client.
    pub client_io_timeout_ms: u64,
    /// Time to connect to an API instance.
    pub upstream_connect_timeout_ms: u64,
    /// Time an API instance may take between reads of its response.
    pub upstream_read_timeout_ms: u64,
    /// Idle time allowed on a WebSocket in either direction (clients ping more often).
    pub websocket_idle_timeout_secs: u64,
    /// Kept-alive connections to API instances, per process.
    pub upstream_keepalive_pool: usize,
    /// Extra attempts on another instance after a failure that is safe to retry: a failed
    /// connect (nothing was sent), or an idempotent request (never a POST).
    pub retries: usize,
    /// How often every instance's `GET /healthz` is checked.
    pub health_check_interval_ms: u64,
    /// Connect and read timeout of one health check.
    pub health_check_timeout_ms: u64,
    /// Once the listener stops (SIGTERM, or the end of an upgrade's handover): seconds for
    /// requests in flight to finish; what still runs then is cut (Pingora's grace period).
    pub grace_period_secs: u64,
    /// After the grace period: the longest wait for Pingora's threads to end. It does not
    /// extend requests: the runtimes drop their tasks when the grace period ends.
    pub graceful_shutdown_timeout_secs: u64,
    /// Unix socket (absolute path) over which a gateway started with `--upgrade` receives the
    /// listening socket of the running one; the two must name the same path, and two
    /// gateways on one machine need two paths.
    pub upgrade_sock: String,
    /// One structured log line per request.
    pub access_log: bool,
    /// `human` or `json`; verbosity from `RUST_LOG` (default `info`).
    pub log_format: LogFormat,
    /// Client networks (CIDR) that may read `/metrics`; others get a 404. The connection's
    /// own address counts, never a forwarded-for header.
    #[serde(deserialize_with = "list_or_csv")]
    pub metrics_allow: Vec<String>,
    /// Browser origins (`https://app.example`) whose pages may call through the gateway
    /// (CORS); `*` allows any, none (the default) turns CORS off. Must be the API's list:
    /// the gateway answers preflights, the API answers everything proxied.
    #[serde(deserialize_with = "list_or_csv")]
    pub cors_allowed_origins: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8000".into(),
            upstreams: vec!["127.0.0.1:8080".into()],
            threads: 1,
            work_stealing: true,
            redis_url: "redis://127.0.0.1:6379/0".into(),
            redis_key_prefix: "tix:".into(),
            redis_command_timeout_ms: 250,
            admission_token_keys: tokens::DEV_ADMISSION_KEYS.into(),
            queue_path: "/graphql".into(),
            token_cache_ttl_ms: 1_000,
            token_cache_capacity: 1_000_000,
            verified_token_cache_capacity: 100_000,
            gate_cache_ttl_ms: 1_000,
            public_rate_per_sec: 50,
            public_burst: 100,
            sale_rate_per_sec: 20,
            sale_burst: 40,
            max_body_bytes: 262_144,
            max_connections: 8_000,
            header_timeout_secs: 10,
            idle_timeout_secs: 60,
            client_io_timeout_ms: 30_000,
            upstream_connect_timeout_ms: 2_000,
            upstream_read_timeout_ms: 30_000,
            websocket_idle_timeout_secs: 300,
            upstream_keepalive_pool: 1_024,
            retries: 2,
            health_check_interval_ms: 500,
            health_check_timeout_ms: 500,
            grace_period_secs: 5,
            graceful_shutdown_timeout_secs: 10,
            upgrade_sock: "/tmp/ticket-gateway-upgrade.sock".into(),
            access_log: true,
            log_format: LogFormat::Human,
            metrics_allow: vec!["127.0.0.0/8".into(), "::1/128".into()],
            cors_allowed_origins: Vec::new(),
        }
    }
}
