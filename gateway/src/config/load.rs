//! Reading the configuration (defaults, then the file, then the environment) and refusing
//! settings that cannot work before anything starts.

use std::time::Duration;

use figment::{
    Figment,
    providers::{Env, Format as _, Toml},
};
use serde::{Deserialize, Deserializer};

use super::Config;
use crate::{cors::AllowedOrigins, error::GatewayError};

/// Variables shared with the API, read without the `GATEWAY_` prefix.
const SHARED_VARIABLES: [&str; 5] = [
    "REDIS_URL",
    "REDIS_KEY_PREFIX",
    "ADMISSION_TOKEN_KEYS",
    "LOG_FORMAT",
    "CORS_ALLOWED_ORIGINS",
];

/// Longest path a unix socket address holds (`sun_path` is 108 bytes with its final NUL).
const MAX_UNIX_SOCKET_PATH: usize = 107;

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
            .map_err(|error| GatewayError::ConfigUnreadable(Box::new(error)))?;
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
        // Both processes of an upgrade must name the same file whatever their working
        // directory, and Pingora panics on a path longer than a socket address holds.
        if !std::path::Path::new(&self.upgrade_sock).is_absolute() {
            return fail("`upgrade_sock` must be an absolute path");
        }
        if self.upgrade_sock.len() > MAX_UNIX_SOCKET_PATH {
            return fail("`upgrade_sock` must be at most 107 bytes long (a unix socket address)");
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
                entry.parse::<ipnet::IpNet>().or_else(|source| {
                    entry
                        .parse::<std::net::IpAddr>()
                        .map(ipnet::IpNet::from)
                        .map_err(|_| GatewayError::MetricsNetwork {
                            entry: entry.to_owned(),
                            source,
                        })
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
pub(super) fn list_or_csv<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<String>, D::Error> {
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
    fn the_upgrade_socket_comes_from_the_environment_and_must_be_an_absolute_short_path() {
        Jail::expect_with(|jail| {
            jail.clear_env();
            assert_eq!(
                Config::load(None).expect("config").upgrade_sock,
                "/tmp/ticket-gateway-upgrade.sock"
            );

            jail.set_env("GATEWAY_UPGRADE_SOCK", "/run/gateway/upgrade.sock");
            assert_eq!(
                Config::load(None).expect("config").upgrade_sock,
                "/run/gateway/upgrade.sock"
            );

            jail.set_env("GATEWAY_UPGRADE_SOCK", "upgrade.sock");
            let relative = Config::load(None).expect_err("a relative path").to_string();
            assert!(relative.contains("upgrade_sock"), "{relative}");

            jail.set_env("GATEWAY_UPGRADE_SOCK", format!("/tmp/{}", "s".repeat(103)));
            let long = Config::load(None).expect_err("too long").to_string();
            assert!(long.contains("107 bytes"), "{long}");
            Ok(())
        });
    }
}
