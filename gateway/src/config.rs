//! Configuration: a TOML file (`--config`) under environment overrides, read once at start.
//!
//! Precedence, lowest first: built-in defaults (they run locally), the TOML file, the shared
//! variables the API reads too (`REDIS_URL`, `REDIS_KEY_PREFIX`, `ADMISSION_TOKEN_KEYS`,
//! `LOG_FORMAT`, `CORS_ALLOWED_ORIGINS`), then `GATEWAY_<KEY>` for any key.
//! `gateway/README.md` has the table.

use std::{fmt, path::PathBuf, time::Duration};

use clap::Parser;
use figment::{
    Figment,
    providers::{Env, Format as _, Toml},
};
use serde::{Deserialize, Deserializer};

use crate::{cors::AllowedOrigins, error::GatewayError};

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
}

/// A value that never appears in logs or `Debug` output.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// The secret itself, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
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
    /// Redis holding admission records and gate switches.
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
    /// After SIGTERM: seconds to keep serving before closing (Pingora's grace period).
    pub grace_period_secs: u64,
    /// After the grace period: seconds for requests in flight to finish.
    pub graceful_shutdown_timeout_secs: u64,
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
            upstream_connect_timeout_ms: 500,
            upstream_read_timeout_ms: 30_000,
            websocket_idle_timeout_secs: 300,
            upstream_keepalive_pool: 256,
            retries: 2,
            health_check_interval_ms: 500,
            health_check_timeout_ms: 500,
            grace_period_secs: 5,
            graceful_shutdown_timeout_secs: 10,
            access_log: true,
            log_format: LogFormat::Human,
            metrics_allow: vec!["127.0.0.0/8".into(), "::1/128".into()],
            cors_allowed_origins: Vec::new(),
        }
    }
}

/// Variables shared with the API, read without the `GATEWAY_` prefix.
const SHARED_VARIABLES: [&str; 5] = [
    "REDIS_URL",
    "REDIS_KEY_PREFIX",
    "ADMISSION_TOKEN_KEYS",
    "LOG_FORMAT",
    "CORS_ALLOWED_ORIGINS",
];

impl Config {
    /// Reads defaults, then `file`, then the environment.
    pub fn load(file: Option<&std::path::Path>) -> Result<Self, GatewayError> {
        let mut figment = Figment::new();
        if let Some(file) = file {
            if !file.is_file() {
                return Err(GatewayError::Config(format!(
                    "no configuration file at {}",
                    file.display()
                )));
            }
            figment = figment.merge(Toml::file(file));
        }
        let config: Config = figment
            .merge(Env::raw().only(&SHARED_VARIABLES))
            .merge(Env::prefixed("GATEWAY_").ignore(&["CONFIG"]))
            .extract()
            .map_err(|error| GatewayError::Config(error.to_string()))?;
        config.validate()?;
        Ok(config)
    }

    /// Refuses settings that cannot work, with a message naming the key.
    pub fn validate(&self) -> Result<(), GatewayError> {
        let fail = |message: &str| Err(GatewayError::Config(message.to_owned()));
        if self.upstreams.is_empty() {
            return fail("`upstreams` needs at least one API address");
        }
        if self.threads == 0 {
            return fail("`threads` must be at least 1");
        }
        if self.max_connections == 0 {
            return fail("`max_connections` must be at least 1");
        }
        if self.public_rate_per_sec > 0 && self.public_burst == 0
            || self.sale_rate_per_sec > 0 && self.sale_burst == 0
        {
            return fail("a rate limit needs a burst of at least 1");
        }
        if !self.queue_path.starts_with('/') {
            return fail("`queue_path` must be a path starting with `/`");
        }
        self.metrics_networks()?;
        self.allowed_origins()?;
        Ok(())
    }

    /// [`Self::cors_allowed_origins`] parsed.
    pub fn allowed_origins(&self) -> Result<AllowedOrigins, GatewayError> {
        AllowedOrigins::parse(&self.cors_allowed_origins)
            .map_err(|message| GatewayError::Config(format!("`cors_allowed_origins`: {message}")))
    }

    /// [`Self::metrics_allow`] parsed; a bare address means that one address.
    pub fn metrics_networks(&self) -> Result<Vec<ipnet::IpNet>, GatewayError> {
        self.metrics_allow
            .iter()
            .map(|entry| {
                let entry = entry.trim();
                entry
                    .parse::<ipnet::IpNet>()
                    .or_else(|_| entry.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| {
                        GatewayError::Config(format!(
                            "`metrics_allow`: {entry:?} is not a network like 10.0.0.0/8"
                        ))
                    })
            })
            .collect()
    }

    /// [`Self::redis_command_timeout_ms`] as a duration.
    pub fn redis_command_timeout(&self) -> Duration {
        Duration::from_millis(self.redis_command_timeout_ms)
    }
}

/// Accepts `["a", "b"]` from TOML and `"a,b"` from the environment.
fn list_or_csv<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum ListOrCsv {
        List(Vec<String>),
        Csv(String),
    }
    Ok(match ListOrCsv::deserialize(deserializer)? {
        ListOrCsv::List(list) => list,
        ListOrCsv::Csv(csv) => csv
            .split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(str::to_owned)
            .collect(),
    })
}

#[cfg(test)]
#[expect(
    clippy::result_large_err,
    reason = "figment's Jail closures must return figment's own (large) error"
)]
mod tests {
    use figment::Jail;

    use super::*;

    #[test]
    fn the_defaults_run_locally_and_validate() {
        let config = Config::default();

        assert!(config.validate().is_ok());
        assert_eq!(config.upstreams, ["127.0.0.1:8080"]);
        assert_eq!(
            config.admission_token_keys.expose(),
            tokens::DEV_ADMISSION_KEYS
        );
    }

    #[test]
    fn the_environment_overrides_the_file() {
        Jail::expect_with(|jail| {
            jail.clear_env();
            jail.create_file(
                "gateway.toml",
                r#"
                listen = "127.0.0.1:9000"
                upstreams = ["127.0.0.1:1", "127.0.0.1:2"]
                public_rate_per_sec = 5
                redis_key_prefix = "file:"
                "#,
            )?;
            jail.set_env("GATEWAY_PUBLIC_RATE_PER_SEC", "7");
            jail.set_env("REDIS_KEY_PREFIX", "env:");
            jail.set_env(
                "ADMISSION_TOKEN_KEYS",
                "a:0123456789abcdef,b:0123456789abcdef",
            );

            let config = Config::load(Some("gateway.toml".as_ref())).expect("config");

            assert_eq!(config.listen, "127.0.0.1:9000");
            assert_eq!(config.upstreams, ["127.0.0.1:1", "127.0.0.1:2"]);
            assert_eq!(config.public_rate_per_sec, 7);
            assert_eq!(config.redis_key_prefix, "env:");
            assert_eq!(
                config.admission_token_keys.expose(),
                "a:0123456789abcdef,b:0123456789abcdef"
            );
            Ok(())
        });
    }

    #[test]
    fn upstreams_from_the_environment_are_comma_separated() {
        Jail::expect_with(|jail| {
            jail.clear_env();
            jail.set_env("GATEWAY_UPSTREAMS", "127.0.0.1:8080, 127.0.0.1:8081");

            let config = Config::load(None).expect("config");

            assert_eq!(config.upstreams, ["127.0.0.1:8080", "127.0.0.1:8081"]);
            Ok(())
        });
    }

    #[test]
    fn unknown_keys_and_missing_files_are_refused() {
        Jail::expect_with(|jail| {
            jail.create_file("bad.toml", "listen_on = \"x\"")?;

            assert!(Config::load(Some("bad.toml".as_ref())).is_err());
            assert!(Config::load(Some("missing.toml".as_ref())).is_err());
            Ok(())
        });
    }

    #[test]
    fn the_checked_in_example_is_valid_and_spells_out_the_defaults() {
        Jail::expect_with(|jail| {
            jail.clear_env();
            let example = concat!(env!("CARGO_MANIFEST_DIR"), "/gateway.example.toml");

            let config = Config::load(Some(example.as_ref())).expect("the example loads");

            // Debug output covers every field; the keys are hidden in both.
            assert_eq!(format!("{config:?}"), format!("{:?}", Config::default()));
            Ok(())
        });
    }

    #[test]
    fn metrics_networks_take_cidrs_and_single_addresses_and_refuse_the_rest() {
        Jail::expect_with(|jail| {
            jail.clear_env();
            jail.set_env("GATEWAY_METRICS_ALLOW", "10.1.0.0/16, 192.0.2.7");

            let config = Config::load(None).expect("config");
            let networks = config.metrics_networks().expect("networks");

            let ip = |text: &str| text.parse::<std::net::IpAddr>().expect("an address");
            assert!(networks.iter().any(|net| net.contains(&ip("10.1.200.3"))));
            assert!(networks.iter().any(|net| net.contains(&ip("192.0.2.7"))));
            assert!(!networks.iter().any(|net| net.contains(&ip("192.0.2.8"))));
            assert!(!networks.iter().any(|net| net.contains(&ip("127.0.0.1"))));

            jail.set_env("GATEWAY_METRICS_ALLOW", "10.1.0.0/16, everyone");
            let refused = Config::load(None).expect_err("a bad network");
            assert!(refused.to_string().contains("everyone"), "{refused}");
            Ok(())
        });
    }

    #[test]
    fn cors_origins_come_from_the_shared_variable_and_the_prefixed_one_wins() {
        Jail::expect_with(|jail| {
            jail.clear_env();
            assert!(
                Config::load(None)
                    .expect("config")
                    .cors_allowed_origins
                    .is_empty()
            );

            jail.set_env(
                "CORS_ALLOWED_ORIGINS",
                "https://app.example, http://127.0.0.1:5173",
            );
            let config = Config::load(None).expect("config");
            assert_eq!(
                config.cors_allowed_origins,
                ["https://app.example", "http://127.0.0.1:5173"]
            );
            assert!(format!("{config:?}").contains("https://app.example"));

            jail.set_env("GATEWAY_CORS_ALLOWED_ORIGINS", "*");
            let config = Config::load(None).expect("config");
            assert_eq!(config.cors_allowed_origins, ["*"]);
            Ok(())
        });
    }

    #[test]
    fn a_cors_entry_that_is_no_origin_is_refused_by_name() {
        Jail::expect_with(|jail| {
            jail.clear_env();
            jail.create_file(
                "gateway.toml",
                r#"cors_allowed_origins = ["https://app.example/shop"]"#,
            )?;

            let refused = Config::load(Some("gateway.toml".as_ref())).expect_err("a path");

            let message = refused.to_string();
            assert!(message.contains("cors_allowed_origins"), "{message}");
            assert!(message.contains("https://app.example/shop"), "{message}");
            Ok(())
        });
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let shown = format!("{:?}", Config::default());

        assert!(!shown.contains("dev-only"), "{shown}");
        assert!(shown.contains("[redacted]"));
    }
}
