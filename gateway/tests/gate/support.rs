//! Starting a gateway process, minting admissions, and polling with deadlines.

use std::{
    fmt::Write as _,
    net::SocketAddr,
    path::{Path, PathBuf},
    process::{Child, Command, ExitStatus},
    time::{Duration, Instant},
};

use fred::prelude::{Client, ClientLike as _, Config, Expiration, KeysInterface as _};
use serde_json::{Value, json};
use tokens::{AdmissionClaims, Keyring};

/// The keyring every test gateway verifies with: the API's test instances run on the
/// development keys, and the API verifies sale tokens too, so both must agree.
pub const TEST_KEYS: &str = tokens::DEV_ADMISSION_KEYS;

/// The query every sale request in these tests asks.
pub const SALE_QUERY: &str = "{ seatCategories { name } }";

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

/// Seconds since the epoch.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs() as i64
}

/// A running gateway process; killed when dropped.
pub struct Gateway {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    /// `127.0.0.1:<port>`.
    pub address: SocketAddr,
    log: PathBuf,
    config_file: PathBuf,
}

/// How to start a gateway: upstreams, Redis, and any other settings as TOML lines.
pub struct GatewayOptions {
    pub upstreams: Vec<SocketAddr>,
    pub redis_url: String,
    pub redis_prefix: String,
    /// Extra `key = value` TOML lines (they override the harness's defaults).
    pub settings: Vec<(String, String)>,
}

impl GatewayOptions {
    /// In front of these upstreams, on this Redis prefix, with test-friendly settings.
    pub fn new(upstreams: &[SocketAddr], redis_url: &str, redis_prefix: &str) -> Self {
        Self {
            upstreams: upstreams.to_vec(),
            redis_url: redis_url.to_owned(),
            redis_prefix: redis_prefix.to_owned(),
            settings: Vec::new(),
        }
    }

    /// Sets one configuration key (a TOML value: `"text"`, `5`, `true`).
    pub fn set(mut self, key: &str, toml_value: &str) -> Self {
        self.settings.push((key.to_owned(), toml_value.to_owned()));
        self
    }
}

impl Gateway {
    /// Starts the gateway and waits until its `/healthz` answers.
    ///
    /// Base settings go in a TOML file and the Redis and key settings in the environment,
    /// so both configuration paths are exercised on every start.
    pub async fn start(options: GatewayOptions) -> Self {
        let port = free_port();
        let address: SocketAddr = ([127, 0, 0, 1], port).into();
        let dir = std::env::temp_dir().join(format!("gateway-test-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("a temp dir");
        let config_file = dir.join("gateway.toml");
        let log = dir.join("gateway.log");
        let upstreams: Vec<String> = options
            .upstreams
            .iter()
            .map(|upstream| format!("\"{upstream}\""))
            .collect();
        let mut toml = format!(
            "listen = \"{address}\"\nupstreams = [{}]\n",
            upstreams.join(", ")
        );
        // Short waits so tests never sit out production timeouts; an upgrade socket of its
        // own, so gateways of tests running side by side never meet.
        let upgrade_sock = format!("\"{}\"", dir.join("upgrade.sock").display());
        let defaults = [
            ("upgrade_sock", upgrade_sock.as_str()),
            ("grace_period_secs", "0"),
            ("graceful_shutdown_timeout_secs", "1"),
            ("health_check_interval_ms", "250"),
            ("health_check_timeout_ms", "250"),
            ("public_rate_per_sec", "0"),
            ("sale_rate_per_sec", "0"),
        ];
        for (key, value) in defaults {
            if !options.settings.iter().any(|(k, _)| k == key) {
                writeln!(toml, "{key} = {value}").expect("writing to a string");
            }
        }
        for (key, value) in &options.settings {
            writeln!(toml, "{key} = {value}").expect("writing to a string");
        }
        std::fs::write(&config_file, toml).expect("writing the config");
        let log_file = std::fs::File::create(&log).expect("a log file");
        let child = Command::new(env!("CARGO_BIN_EXE_gateway"))
            .arg("--config")
            .arg(&config_file)
            .env("REDIS_URL", &options.redis_url)
            .env("REDIS_KEY_PREFIX", &options.redis_prefix)
            .env("ADMISSION_TOKEN_KEYS", TEST_KEYS)
            .env("RUST_LOG", "info")
            .env_remove("GATEWAY_CONFIG")
            .stdout(log_file.try_clone().expect("log handle"))
            .stderr(log_file)
            .spawn()
            .expect("starting the gateway");
        let mut gateway = Self {
            child,
            url: format!("http://{address}"),
            address,
            log,
            config_file,
        };
        gateway.wait_until_ready().await;
        gateway
    }

    async fn wait_until_ready(&mut self) {
        let http = reqwest::Client::new();
        let health = format!("{}/healthz", self.url);
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("the gateway exited with {status}:\n{}", self.logs());
            }
            if let Ok(response) = http.get(&health).send().await
                && response.status().is_success()
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the gateway never became ready:\n{}",
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Everything the process has logged so far.
    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The configuration file it was started with.
    pub fn config_file(&self) -> &Path {
        &self.config_file
    }

    /// Sends SIGTERM and waits for the exit, up to `deadline`; returns how long it took.
    pub async fn terminate(&mut self, deadline: Duration) -> Duration {
        let started = Instant::now();
        signal(self.pid(), "TERM");
        let status = self.wait_for_exit(deadline).await;
        assert!(status.success(), "the gateway exited with {status}");
        started.elapsed()
    }

    /// Waits for the process to exit by itself, up to `within`; returns its status.
    pub async fn wait_for_exit(&mut self, within: Duration) -> ExitStatus {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("waiting for the gateway") {
                return status;
            }
            assert!(
                started.elapsed() < within,
                "the gateway still runs after {within:?}:\n{}",
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The gateway's `/metrics` text.
    pub async fn metrics(&self) -> String {
        reqwest::get(format!("{}/metrics", self.url))
            .await
            .expect("metrics request")
            .text()
            .await
            .expect("metrics text")
    }

    /// Polls `/metrics` until `line` appears, up to `within`; returns how long it took.
    pub async fn wait_for_metric(&self, line: &str, within: Duration) -> Duration {
        let started = Instant::now();
        loop {
            if self.metrics().await.lines().any(|l| l == line) {
                return started.elapsed();
            }
            assert!(
                started.elapsed() < within,
                "`{line}` did not appear within {within:?}:\n{}",
                self.metrics().await
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(dir) = self.config_file.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Sends `kill -<name>` to `pid`.
pub fn signal(pid: u32, name: &str) {
    let sent = Command::new("kill")
        .args([format!("-{name}"), pid.to_string()])
        .status()
        .expect("running kill");
    assert!(sent.success(), "kill -{name} {pid} failed");
}

/// A Redis client for arranging admissions.
pub async fn redis(url: &str) -> Client {
    let client = Client::new(
        Config::from_url(url).expect("a Redis URL"),
        None,
        None,
        None,
    );
    client.init().await.expect("connecting to Redis");
    client
}

/// An admission as the queue would hand it out.
pub struct Admitted {
    pub token: String,
    pub jti: String,
    pub user: String,
}

/// Records an admission in Redis (as the queue does) for a new fan and signs its token;
/// `issued_ago` backdates it, so an admission with `issued_ago > ttl` is expired. `_label`
/// only names the fan in the test: user ids are UUIDs, as the API expects.
pub async fn admit(
    redis: &Client,
    prefix: &str,
    _label: &str,
    event: i64,
    ttl_secs: i64,
    issued_ago: i64,
) -> Admitted {
    let user = uuid::Uuid::new_v4().to_string();
    let user = user.as_str();
    let jti = uuid::Uuid::new_v4().simple().to_string();
    let key = tokens::store::Keys::new(prefix).admission(event, &jti);
    // The record outlives an expired token here, so only the token's own expiry refuses it.
    let record_ttl_ms = ttl_secs.max(60) * 1_000;
    let _: () = redis
        .set(&key, user, Some(Expiration::PX(record_ttl_ms)), None, false)
        .await
        .expect("writing the admission record");
    let keyring = Keyring::parse(TEST_KEYS).expect("test keyring");
    let claims = AdmissionClaims::new(user, event, &jti, now() - issued_ago, ttl_secs, 4);
    Admitted {
        token: keyring.sign(&claims),
        jti,
        user: user.to_owned(),
    }
}

/// Revokes an admission: deletes its record.
pub async fn revoke(redis: &Client, prefix: &str, event: i64, jti: &str) {
    let _: i64 = redis
        .del(tokens::store::Keys::new(prefix).admission(event, jti))
        .await
        .expect("deleting the admission record");
}

/// The JSON body of a GraphQL POST.
pub fn graphql(query: &str) -> Value {
    json!({ "query": query })
}

/// The refusal code of a gateway answer.
pub fn code_of(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("<no code>")
}

/// Polls `check` every 20 ms until it returns `Some`, up to `within`.
pub async fn eventually<T, F, Fut>(within: Duration, what: &str, mut check: F) -> (T, Duration)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let started = Instant::now();
    loop {
        if let Some(value) = check().await {
            return (value, started.elapsed());
        }
        assert!(started.elapsed() < within, "{what}: not within {within:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
