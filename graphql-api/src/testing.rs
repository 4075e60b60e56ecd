//! Test harness shared by every crate's tests (feature `testing`).
//!
//! - [`TestDb`]: a fresh database per test, cloned from a migrated template (made once per
//!   migration set, under an advisory lock so parallel test processes agree), dropped after.
//! - [`TestRedis`]: a fresh key prefix per test on the shared Redis, deleted after.
//! - [`TestApp`]: the real API on port 0 over both, with helpers to query it over HTTP;
//!   [`TestApp::spawn_instance`] starts more instances on the same database and Redis.
//!
//! Environment: `TEST_DATABASE_URL` (a server URL ending in a database to connect to for
//! admin work, default `postgres://postgres@127.0.0.1:5432/postgres`), `TEST_REDIS_URL`
//! (default `redis://127.0.0.1:6379/0`), `KEEP_TEST_DB=1` to keep databases for debugging.

use std::{net::SocketAddr, time::Duration};

use anyhow::Context as _;
use fred::prelude::{ClientLike as _, KeysInterface as _};
use migrations::{Migrator, MigratorTrait as _};
use sea_orm::{ConnectionTrait as _, Database, DatabaseConnection, Statement};
use serde_json::{Value, json};
use tokio::{sync::oneshot, task::JoinHandle};

use crate::{
    config::Config,
    db::{quote_ident, split_database_url},
    seed,
    startup::Application,
    state::AppState,
};

/// Where tests find Postgres for admin work.
pub fn admin_database_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// Where tests find Redis.
pub fn redis_url() -> String {
    std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/0".to_owned())
}

/// Any key that fits in a Postgres advisory lock, the same in every test process.
const TEMPLATE_LOCK: i64 = 0x7469_636b_6574;

/// A database of its own for one test, migrated, dropped when the value is dropped.
pub struct TestDb {
    pub name: String,
    pub url: String,
    pub connection: DatabaseConnection,
}

impl TestDb {
    /// Clones the migrated template into a new database.
    pub async fn new() -> Self {
        Self::try_new().await.expect("creating a test database")
    }

    async fn try_new() -> anyhow::Result<Self> {
        let admin_url = admin_database_url();
        let (server, _) = split_database_url(&admin_url)?;
        let template = ensure_template(&admin_url).await?;
        let name = format!("tickets_test_{}", uuid::Uuid::new_v4().simple());
        let admin = Database::connect(&admin_url)
            .await
            .context("connecting as admin")?;
        let create = format!(
            "CREATE DATABASE {} TEMPLATE {}",
            quote_ident(&name),
            quote_ident(&template)
        );
        let mut attempt = 0;
        loop {
            match admin.execute_unprepared(&create).await {
                Ok(_) => break,
                // Another process may be briefly connected to the template; try again.
                Err(error) if attempt < 20 && error.to_string().contains("being accessed") => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(50 * attempt)).await;
                }
                Err(error) => return Err(error).context("cloning the template database"),
            }
        }
        admin.close().await.ok();
        let url = format!("{server}/{name}");
        let connection = Database::connect(&url)
            .await
            .context("connecting to the test database")?;
        Ok(Self {
            name,
            url,
            connection,
        })
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if std::env::var_os("KEEP_TEST_DB").is_some() {
            eprintln!("kept test database {}", self.name);
            return;
        }
        let name = self.name.clone();
        // Drop runs inside the test's runtime; a thread with its own runtime can block.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            if let Ok(runtime) = runtime {
                runtime.block_on(async {
                    if let Ok(admin) = Database::connect(admin_database_url()).await {
                        let sql = format!(
                            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                            quote_ident(&name)
                        );
                        let _ = admin.execute_unprepared(&sql).await;
                        admin.close().await.ok();
                    }
                });
            }
        })
        .join();
    }
}

/// Makes the migrated template once per migration set; returns its name.
async fn ensure_template(admin_url: &str) -> anyhow::Result<String> {
    let name = format!("tickets_tmpl_{}", migrations::fingerprint());
    let mut options = sea_orm::ConnectOptions::new(admin_url.to_owned());
    // One connection: the advisory lock belongs to a session.
    options
        .max_connections(1)
        .min_connections(1)
        .sqlx_logging(false);
    let admin = Database::connect(options)
        .await
        .context("connecting as admin")?;
    admin
        .execute_unprepared(&format!("SELECT pg_advisory_lock({TEMPLATE_LOCK})"))
        .await?;
    let result = build_template_if_missing(&admin, admin_url, &name).await;
    admin
        .execute_unprepared(&format!("SELECT pg_advisory_unlock({TEMPLATE_LOCK})"))
        .await
        .ok();
    admin.close().await.ok();
    result.map(|()| name)
}

async fn build_template_if_missing(
    admin: &DatabaseConnection,
    admin_url: &str,
    name: &str,
) -> anyhow::Result<()> {
    let exists = admin
        .query_one_raw(Statement::from_sql_and_values(
            admin.get_database_backend(),
            "SELECT 1 FROM pg_database WHERE datname = $1",
            [name.into()],
        ))
        .await?
        .is_some();
    if exists {
        return Ok(());
    }
    // Built under another name and renamed when complete, so a crash mid-way never leaves a
    // half-migrated template behind under the real name.
    let building = format!("{name}_building");
    admin
        .execute_unprepared(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            quote_ident(&building)
        ))
        .await?;
    admin
        .execute_unprepared(&format!("CREATE DATABASE {}", quote_ident(&building)))
        .await?;
    let (server, _) = split_database_url(admin_url)?;
    let db = Database::connect(format!("{server}/{building}")).await?;
    Migrator::up(&db, None)
        .await
        .context("migrating the template")?;
    db.close().await.ok();
    admin
        .execute_unprepared(&format!(
            "ALTER DATABASE {} RENAME TO {}",
            quote_ident(&building),
            quote_ident(name)
        ))
        .await
        .context("renaming the template")?;
    Ok(())
}

/// A Redis key prefix of its own for one test; its keys are deleted when dropped.
pub struct TestRedis {
    pub url: String,
    pub prefix: String,
}

impl TestRedis {
    pub fn new() -> Self {
        Self {
            url: redis_url(),
            prefix: format!("test:{}:", uuid::Uuid::new_v4().simple()),
        }
    }
}

impl Default for TestRedis {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TestRedis {
    fn drop(&mut self) {
        let (url, pattern) = (self.url.clone(), format!("{}*", self.prefix));
        let _ = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async {
                let Ok(config) = fred::prelude::Config::from_url(&url) else {
                    return;
                };
                let Ok(client) = fred::prelude::Builder::from_config(config).build() else {
                    return;
                };
                if client.init().await.is_err() {
                    return;
                }
                let mut cursor = "0".to_owned();
                loop {
                    let reply: Result<(String, Vec<String>), _> = client
                        .custom(
                            fred::cmd!("SCAN"),
                            vec![
                                cursor.clone(),
                                "MATCH".into(),
                                pattern.clone(),
                                "COUNT".into(),
                                "1000".into(),
                            ],
                        )
                        .await;
                    let Ok((next, keys)) = reply else { break };
                    if !keys.is_empty() {
                        let _: Result<i64, _> = client.del(keys).await;
                    }
                    if next == "0" {
                        break;
                    }
                    cursor = next;
                }
                let _ = client.quit().await;
            });
        })
        .join();
    }
}

/// The configuration a test instance runs with.
pub fn test_config(db: &TestDb, redis: &TestRedis) -> Config {
    let mut config = Config::local_defaults();
    config.bind = SocketAddr::from(([127, 0, 0, 1], 0));
    config.database_url = db.url.clone().into();
    config.redis_url = redis.url.clone().into();
    config.redis_key_prefix = redis.prefix.clone();
    config.db_max_connections = 8;
    config.shutdown_grace_secs = 1;
    // Cheap hashing: tests sign up many fans; the cost is not what they test.
    config.argon2_memory_kib = 1_024;
    config.argon2_iterations = 1;
    // Tests drive the admission ticker themselves unless they turn it on.
    config.workers_enabled = false;
    config.queue_tick_ms = 50;
    config
}

/// One running API instance.
pub struct TestInstance {
    pub address: SocketAddr,
    pub state: AppState,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<anyhow::Result<()>>>,
}

impl TestInstance {
    /// Starts an instance with this configuration.
    pub async fn start(config: Config) -> Self {
        let app = Application::build(config).await.expect("building the API");
        let address = app.local_addr().expect("bound address");
        let state = app.state().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(app.run_until_stopped(async move {
            let _ = stopped.await;
        }));
        Self {
            address,
            state,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Stops the instance gracefully and waits for it.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for TestInstance {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// A test's whole world: its own database and Redis prefix, and one API instance on them.
pub struct TestApp {
    pub instance: TestInstance,
    pub http: reqwest::Client,
    // Dropped last: instances close their pools before their database goes.
    pub redis: TestRedis,
    pub db: TestDb,
}

impl TestApp {
    /// A fresh world with one instance on default test configuration.
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    /// A fresh world with one instance whose configuration `configure` adjusts.
    pub async fn spawn_with(configure: impl FnOnce(&mut Config)) -> Self {
        let db = TestDb::new().await;
        let redis = TestRedis::new();
        let mut config = test_config(&db, &redis);
        configure(&mut config);
        let instance = TestInstance::start(config).await;
        Self {
            instance,
            http: reqwest::Client::new(),
            redis,
            db,
        }
    }

    /// Another instance on the same database and Redis prefix.
    pub async fn spawn_instance(&self, configure: impl FnOnce(&mut Config)) -> TestInstance {
        let mut config = test_config(&self.db, &self.redis);
        configure(&mut config);
        TestInstance::start(config).await
    }

    /// The first instance's base URL.
    pub fn base_url(&self) -> String {
        self.instance.base_url()
    }

    /// Loads a new stadium event with `seats` seats (ON_SALE, demo prices, its own slug);
    /// returns its id.
    pub async fn seed_event(&self, seats: u32) -> i64 {
        let mut spec = seed::load_test_spec(seats);
        spec.slug = format!("test-{seats}-{}", uuid::Uuid::new_v4().simple());
        seed::seed_event(&self.db.connection, &spec)
            .await
            .expect("seeding an event")
            .event_id
    }

    /// POSTs a query to the public schema; returns the JSON body.
    pub async fn public(&self, query: &str, variables: Value) -> Value {
        self.post_json(
            "/graphql",
            &json!({ "query": query, "variables": variables }),
        )
        .await
        .1
    }

    /// POSTs a query to an event's sale schema; returns the JSON body.
    pub async fn sale(&self, event_id: i64, query: &str, variables: Value) -> Value {
        let token = self.admit(event_id, uuid::Uuid::new_v4()).await;
        self.sale_as(&token, event_id, query, variables).await
    }

    /// POSTs a query to an event's sale schema with a bearer token; returns the JSON body.
    pub async fn sale_as(
        &self,
        token: &str,
        event_id: i64,
        query: &str,
        variables: Value,
    ) -> Value {
        let body = json!({ "query": query, "variables": variables });
        self.post_json_as(Some(token), &format!("/sale/{event_id}/graphql"), &body)
            .await
            .1
    }

    /// Makes sure a user row exists for `user` (holds and bookings belong to real users).
    pub async fn ensure_user(&self, user: uuid::Uuid) {
        self.db
            .connection
            .execute_raw(Statement::from_sql_and_values(
                self.db.connection.get_database_backend(),
                "INSERT INTO users (id, email, password_hash, display_name) VALUES ($1, $2, 'not-a-hash', 'Test fan') \
                 ON CONFLICT DO NOTHING",
                [user.into(), format!("{}@fans.test", user.simple()).into()],
            ))
            .await
            .expect("creating a user");
    }

    /// Admits `user` to `event` the way the queue does (a signed token and its Redis record,
    /// valid for the configured admission time, cap from the event); returns the token.
    pub async fn admit(&self, event_id: i64, user: uuid::Uuid) -> String {
        self.ensure_user(user).await;
        let state = &self.instance.state;
        let event = crate::events::find_event_by_id(state, event_id)
            .await
            .expect("event");
        let jti = uuid::Uuid::new_v4().simple().to_string();
        let ttl = state.config().admission_ttl_secs;
        let claims = tokens::AdmissionClaims::new(
            &user.to_string(),
            event_id,
            &jti,
            chrono::Utc::now().timestamp(),
            ttl,
            u32::try_from(event.max_seats_per_fan).unwrap_or(1),
        );
        let key = tokens::admission_key(state.keys().prefix(), event_id, &jti);
        let _: () = state
            .redis()
            .set(
                key,
                user.simple().to_string(),
                Some(fred::types::Expiration::EX(ttl)),
                None,
                false,
            )
            .await
            .expect("storing an admission record");
        state.admission_keys().sign(&claims)
    }

    /// POSTs any JSON to a path; returns the status and JSON body.
    pub async fn post_json(&self, path: &str, body: &Value) -> (u16, Value) {
        self.post_json_as(None, path, body).await
    }

    /// POSTs any JSON to a path, with a bearer token when given; returns the status and JSON
    /// body.
    pub async fn post_json_as(
        &self,
        token: Option<&str>,
        path: &str,
        body: &Value,
    ) -> (u16, Value) {
        let mut request = self
            .http
            .post(format!("{}{path}", self.base_url()))
            .json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("sending a request");
        let status = response.status().as_u16();
        (status, response.json().await.expect("a JSON body"))
    }
}

impl TestApp {
    /// An access token for `user` with `role` (`FAN` or `ADMIN`), as `login` would give.
    pub fn access_token(&self, user: uuid::Uuid, role: &str) -> String {
        let claims =
            tokens::AccessClaims::new(&user.to_string(), role, chrono::Utc::now().timestamp(), 900);
        self.instance.state.access_keys().sign(&claims)
    }

    /// POSTs a query to the public schema with a bearer token; returns the JSON body.
    pub async fn public_as(&self, token: &str, query: &str, variables: Value) -> Value {
        let body = json!({ "query": query, "variables": variables });
        self.post_json_as(Some(token), "/graphql", &body).await.1
    }
}

/// A private `redis-server` (or a three-node Redis Cluster) for tests that need Redis to
/// themselves: counting commands, or proving the queue works on a cluster. Stopped on drop.
pub struct TestRedisServer {
    pub ports: Vec<u16>,
    children: Vec<std::process::Child>,
    dir: std::path::PathBuf,
}

impl TestRedisServer {
    /// One standalone server without persistence.
    pub async fn standalone() -> Self {
        let mut server = Self::empty();
        server.spawn_node(&[]);
        server.wait_ready(&["PING"], "PONG").await;
        server
    }

    /// One standalone server on a given port (to bring Redis back where it was).
    pub async fn standalone_on(port: u16) -> Self {
        let mut server = Self::empty();
        server.spawn_node_on(port, &[]);
        server.wait_ready(&["PING"], "PONG").await;
        server
    }

    /// Three primaries forming a Redis Cluster (no replicas).
    pub async fn cluster() -> Self {
        let mut server = Self::empty();
        for _ in 0..3 {
            server.spawn_node(&["--cluster-enabled", "yes", "--cluster-node-timeout", "5000"]);
        }
        server.wait_ready(&["PING"], "PONG").await;
        let nodes: Vec<String> = server
            .ports
            .iter()
            .map(|port| format!("127.0.0.1:{port}"))
            .collect();
        let created = std::process::Command::new("redis-cli")
            .args(["--cluster", "create"])
            .args(&nodes)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .output()
            .expect("running redis-cli --cluster create");
        assert!(
            created.status.success(),
            "cluster create failed: {}",
            String::from_utf8_lossy(&created.stdout)
        );
        server
            .wait_ready(&["CLUSTER", "INFO"], "cluster_state:ok")
            .await;
        server
    }

    fn empty() -> Self {
        let dir =
            std::env::temp_dir().join(format!("tickets-redis-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("a temp dir");
        Self {
            ports: Vec::new(),
            children: Vec::new(),
            dir,
        }
    }

    fn spawn_node(&mut self, extra: &[&str]) {
        self.spawn_node_on(free_port_pair(), extra);
    }

    fn spawn_node_on(&mut self, port: u16, extra: &[&str]) {
        let child = std::process::Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .arg("--dir")
            .arg(&self.dir)
            .args(["--cluster-config-file", &format!("nodes-{port}.conf")])
            .args(extra)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("starting redis-server");
        self.ports.push(port);
        self.children.push(child);
    }

    async fn wait_ready(&self, command: &[&str], expect: &str) {
        for port in &self.ports {
            let deadline = std::time::Instant::now() + Duration::from_secs(20);
            loop {
                let output = std::process::Command::new("redis-cli")
                    .args(["-p", &port.to_string()])
                    .args(command)
                    .output();
                if output.is_ok_and(|out| String::from_utf8_lossy(&out.stdout).contains(expect)) {
                    break;
                }
                assert!(
                    std::time::Instant::now() < deadline,
                    "redis on {port} never answered {expect}"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }

    /// The URL the API takes: `redis://` for one node, `redis-cluster://` for a cluster.
    pub fn url(&self) -> String {
        match self.ports.as_slice() {
            [port] => format!("redis://127.0.0.1:{port}/0"),
            [first, rest @ ..] => {
                let nodes: Vec<String> = rest
                    .iter()
                    .map(|port| format!("node=127.0.0.1:{port}"))
                    .collect();
                format!("redis-cluster://127.0.0.1:{first}?{}", nodes.join("&"))
            }
            [] => String::new(),
        }
    }

    /// Total commands the server(s) have executed (from `INFO commandstats`).
    pub fn commands_executed(&self) -> u64 {
        self.commands_by_name().values().sum()
    }

    /// Commands executed so far, by command name (`INFO` itself left out).
    pub fn commands_by_name(&self) -> std::collections::BTreeMap<String, u64> {
        let mut counts = std::collections::BTreeMap::new();
        for port in &self.ports {
            let output = std::process::Command::new("redis-cli")
                .args(["-p", &port.to_string(), "INFO", "commandstats"])
                .output()
                .expect("redis-cli");
            for line in String::from_utf8_lossy(&output.stdout).lines() {
                let Some(rest) = line.strip_prefix("cmdstat_") else {
                    continue;
                };
                let Some((name, stats)) = rest.split_once(':') else {
                    continue;
                };
                if name == "info" {
                    continue;
                }
                if let Some(calls) = stats
                    .split("calls=")
                    .nth(1)
                    .and_then(|s| s.split(',').next())
                    .and_then(|s| s.parse::<u64>().ok())
                {
                    *counts.entry(name.to_owned()).or_insert(0) += calls;
                }
            }
        }
        counts
    }
}

impl Drop for TestRedisServer {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A free port whose cluster-bus twin (+10000) is free too.
fn free_port_pair() -> u16 {
    loop {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
        let port = listener.local_addr().expect("address").port();
        if port < 55_000 && std::net::TcpListener::bind(("127.0.0.1", port + 10_000)).is_ok() {
            return port;
        }
    }
}

/// The `extensions.code` of a response's first error, if any.
pub fn first_error_code(body: &Value) -> Option<&str> {
    body["errors"][0]["extensions"]["code"].as_str()
}

/// One number from Postgres (a count, a sum).
pub async fn scalar(db: &DatabaseConnection, sql: &str) -> i64 {
    db.query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .expect("query")
        .expect("row")
        .try_get_by_index::<i64>(0)
        .expect("number")
}

/// Checks the sale's invariants straight from Postgres; panics with `step` on a breach. Shared
/// by the API's sale tests and the gateway's fuzz test.
pub async fn assert_invariants(db: &DatabaseConnection, step: &str) {
    let booked_without_one_confirmed = scalar(
        db,
        "SELECT count(*) FROM seats s WHERE s.status = 'BOOKED' AND 1 <> (SELECT count(*) FROM booking_seats bs \
         JOIN bookings b ON b.id = bs.booking_id WHERE bs.seat_id = s.id AND bs.confirmed AND b.status = 'CONFIRMED')",
    )
    .await;
    let held_without_live_hold = scalar(
        db,
        "SELECT count(*) FROM seats s WHERE s.status = 'HELD' AND NOT EXISTS \
         (SELECT 1 FROM holds h WHERE h.id = s.hold_id AND h.status = 'ACTIVE')",
    )
    .await;
    let booked = scalar(db, "SELECT count(*) FROM seats WHERE status = 'BOOKED'").await;
    let confirmed_lines = scalar(
        db,
        "SELECT count(*) FROM booking_seats bs JOIN bookings b ON b.id = bs.booking_id \
         WHERE bs.confirmed AND b.status = 'CONFIRMED'",
    )
    .await;
    let captured = scalar(
        db,
        "SELECT coalesce(sum(amount_minor), 0)::bigint FROM payments WHERE status = 'SUCCEEDED'",
    )
    .await;
    let sold = scalar(
        db,
        "SELECT coalesce(sum(amount_minor), 0)::bigint FROM bookings WHERE status = 'CONFIRMED'",
    )
    .await;
    assert_eq!(
        booked_without_one_confirmed, 0,
        "{step}: a BOOKED seat without exactly one confirmed booking"
    );
    assert_eq!(
        held_without_live_hold, 0,
        "{step}: a HELD seat without a live hold"
    );
    assert_eq!(
        booked, confirmed_lines,
        "{step}: seats BOOKED differ from seats in confirmed bookings"
    );
    assert_eq!(
        captured, sold,
        "{step}: money captured differs from confirmed bookings"
    );
}
