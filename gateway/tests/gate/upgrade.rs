//! Graceful upgrade: a gateway replaced under load by `scripts/upgrade-gateway.sh` fails no
//! request; `--upgrade` with nothing to take over fails and says why; a SIGQUIT with no new
//! gateway waiting is refused.

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use graphql_api::testing::TestRedis;
use reqwest::StatusCode;
use serde_json::Value;
use tokio::task::JoinSet;

use crate::{
    fakes::EchoUpstream,
    support::{Gateway, GatewayOptions, TEST_KEYS, eventually, free_port, graphql, signal},
};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/upgrade-gateway.sh");

/// Loops sharing one pool of kept-alive connections, as browsers and wrk reuse them.
const KEPT_ALIVE_LOOPS: usize = 24;
/// Loops opening a fresh connection for every request.
const FRESH_CONNECTION_LOOPS: usize = 4;

/// Names of the load's phases, in order.
const PHASES: [&str; 3] = [
    "before the upgrade",
    "during the handover",
    "after the old process exited",
];

/// Continuous requests through the gateway, counted by the phase they started in.
struct Load {
    phase: AtomicUsize,
    stop: AtomicBool,
    answered: [AtomicUsize; 3],
    failed: [AtomicUsize; 3],
    /// The first failures, for the report.
    failures: Mutex<Vec<String>>,
}

impl Load {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            phase: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
            answered: Default::default(),
            failed: Default::default(),
            failures: Mutex::new(Vec::new()),
        })
    }

    /// Starts every loop against `url`.
    fn start(self: &Arc<Self>, url: &str) -> JoinSet<()> {
        let kept_alive = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .build()
            .expect("a client");
        let fresh = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .pool_max_idle_per_host(0)
            .build()
            .expect("a client");
        let mut loops = JoinSet::new();
        for n in 0..KEPT_ALIVE_LOOPS + FRESH_CONNECTION_LOOPS {
            let client = if n < KEPT_ALIVE_LOOPS {
                kept_alive.clone()
            } else {
                fresh.clone()
            };
            loops.spawn(self.clone().run(client, url.to_owned(), n));
        }
        loops
    }

    /// One loop: POSTs and GETs in turn, each checked to be the upstream's own answer.
    async fn run(self: Arc<Self>, client: reqwest::Client, url: String, n: usize) {
        let mut i = 0_usize;
        while !self.stop.load(Ordering::Relaxed) {
            i += 1;
            let phase = self.phase.load(Ordering::Relaxed);
            let post = i.is_multiple_of(2);
            let (method, path) = if post {
                ("POST", "/graphql".to_owned())
            } else {
                ("GET", format!("/events/{n}/{i}"))
            };
            let request = if post {
                client
                    .post(format!("{url}{path}"))
                    .json(&graphql("{ events { id } }"))
            } else {
                client.get(format!("{url}{path}"))
            };
            match check(request.send().await, method, &path).await {
                Ok(()) => self.answered[phase].fetch_add(1, Ordering::Relaxed),
                Err(failure) => {
                    if let Ok(mut failures) = self.failures.lock()
                        && failures.len() < 20
                    {
                        failures.push(format!(
                            "{} (at {}): {method} {path}: {failure}",
                            PHASES[phase],
                            clock()
                        ));
                    }
                    self.failed[phase].fetch_add(1, Ordering::Relaxed)
                }
            };
        }
    }

    fn answered(&self, phase: usize) -> usize {
        self.answered[phase].load(Ordering::Relaxed)
    }

    fn failed(&self, phase: usize) -> usize {
        self.failed[phase].load(Ordering::Relaxed)
    }

    /// Runs `phase` until it has at least `requests` answers and `at_least` has passed.
    async fn hold_phase(&self, phase: usize, requests: usize, at_least: Duration) {
        let started = Instant::now();
        eventually(
            Duration::from_secs(30),
            &format!("{requests} answers {}", PHASES[phase]),
            || async {
                (self.answered(phase) >= requests && started.elapsed() >= at_least).then_some(())
            },
        )
        .await;
    }

    fn report(&self) -> String {
        let mut lines = Vec::new();
        for (phase, name) in PHASES.iter().enumerate() {
            lines.push(format!(
                "{name}: {} requests, {} failed",
                self.answered(phase) + self.failed(phase),
                self.failed(phase)
            ));
        }
        let failures = self
            .failures
            .lock()
            .map(|f| f.join("\n"))
            .unwrap_or_default();
        format!("{}\n{failures}", lines.join("\n"))
    }
}

/// Seconds since the epoch with milliseconds, to find a failure in the gateways' logs.
fn clock() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    format!(
        "{}.{:03} s since the epoch",
        now.as_secs(),
        now.subsec_millis()
    )
}

/// A 200 from the echo upstream for exactly this request, or why not.
async fn check(
    sent: Result<reqwest::Response, reqwest::Error>,
    method: &str,
    path: &str,
) -> Result<(), String> {
    let response = sent.map_err(|error| format!("{error:?}"))?;
    let status = response.status();
    let body = response
        .text()
        .await
        .map_err(|error| format!("{error:?}"))?;
    if status != StatusCode::OK {
        return Err(format!("{status}: {body}"));
    }
    let echo: Value = serde_json::from_str(&body).map_err(|_| format!("not JSON: {body}"))?;
    if echo["method"] != method || echo["path"] != path {
        return Err(format!("another request's answer: {body}"));
    }
    Ok(())
}

/// A gateway process the script started (not our child): stopped when dropped.
struct Replacement {
    pid: u32,
}

impl Replacement {
    fn is_running(&self) -> bool {
        is_running(self.pid)
    }

    /// SIGTERM, then waits until it is gone.
    async fn stop(&self) {
        signal(self.pid, "TERM");
        eventually(
            Duration::from_secs(15),
            "the new gateway to stop",
            || async { (!self.is_running()).then_some(()) },
        )
        .await;
    }
}

impl Drop for Replacement {
    fn drop(&mut self) {
        if self.is_running() {
            let _ = std::process::Command::new("kill")
                .args(["-KILL", &self.pid.to_string()])
                .status();
        }
    }
}

/// Alive and not a zombie (an orphan nobody reaped has exited, as far as we care).
fn is_running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            let state = stat
                .rsplit_once(')')?
                .1
                .split_whitespace()
                .next()?
                .to_owned();
            Some(state != "Z")
        })
        .unwrap_or(false)
}

/// Runs the upgrade script as an operator would, with the old gateway's configuration and
/// environment; returns its output.
async fn run_upgrade_script(
    gateway: &Gateway,
    redis: &TestRedis,
    pid_file: &Path,
    log: &Path,
) -> std::process::Output {
    with_gateway_env(&mut tokio::process::Command::new("bash"), redis)
        .arg(SCRIPT)
        .arg("--pid-file")
        .arg(pid_file)
        .arg("--bin")
        .arg(env!("CARGO_BIN_EXE_gateway"))
        .arg("--log")
        .arg(log)
        .arg("--")
        .arg("--config")
        .arg(gateway.config_file())
        .output()
        .await
        .expect("running scripts/upgrade-gateway.sh")
}

/// `proxied` public requests counted by the process answering `/metrics`.
async fn proxied_public_requests(url: &str) -> usize {
    let metrics = reqwest::get(format!("{url}/metrics"))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics text");
    metrics
        .lines()
        .find_map(|line| {
            line.strip_prefix(r#"gateway_requests_total{outcome="proxied",route="public"} "#)
        })
        .and_then(|count| count.parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_replaced_under_load_by_the_upgrade_script_fails_no_request() {
    let upstream = EchoUpstream::start().await;
    let redis = TestRedis::new();
    let mut old = Gateway::start(
        GatewayOptions::new(&[upstream.address], &redis.url, &redis.prefix)
            // Long enough for what the old process accepted last to be answered on a busy
            // machine; production keeps 5 s.
            .set("grace_period_secs", "2")
            // Tens of thousands of requests: the logs should tell the handover, not each one.
            .set("access_log", "false"),
    )
    .await;
    let dir = old
        .config_file()
        .parent()
        .map(Path::to_path_buf)
        .expect("the config's folder");
    let pid_file = dir.join("gateway.pid");
    std::fs::write(&pid_file, old.pid().to_string()).expect("writing the pid file");
    let new_log = dir.join("new-gateway.log");
    let load = Load::new();
    let mut loops = load.start(&old.url);
    load.hold_phase(0, 300, Duration::from_secs(1)).await;

    load.phase.store(1, Ordering::Relaxed);
    let script = run_upgrade_script(&old, &redis, &pid_file, &new_log).await;
    let old_status = old.wait_for_exit(Duration::from_secs(5)).await;
    load.phase.store(2, Ordering::Relaxed);
    let replacement = std::fs::read_to_string(&pid_file)
        .ok()
        .and_then(|pid| pid.trim().parse().ok())
        .map(|pid| Replacement { pid });
    load.hold_phase(2, 300, Duration::from_secs(1)).await;
    load.stop.store(true, Ordering::Relaxed);
    while loops.join_next().await.is_some() {}
    let report = load.report();
    println!("{report}\n{}", String::from_utf8_lossy(&script.stdout));
    let new_logs = std::fs::read_to_string(&new_log).unwrap_or_default();
    let context = format!(
        "{report}\nscript: {}\n{}{}\nold gateway:\n{}\nnew gateway:\n{new_logs}",
        script.status,
        String::from_utf8_lossy(&script.stdout),
        String::from_utf8_lossy(&script.stderr),
        old.logs()
    );

    assert!(script.status.success(), "{context}");
    assert!(
        old_status.success(),
        "the old gateway exited with {old_status}\n{context}"
    );
    let replacement = replacement.expect("the script wrote the new pid");
    assert_ne!(replacement.pid, old.pid(), "{context}");
    assert!(replacement.is_running(), "{context}");
    for phase in 0..PHASES.len() {
        assert_eq!(load.failed(phase), 0, "{context}");
        assert!(load.answered(phase) > 0, "{context}");
    }
    // The old process is gone, so the same port is the new one's, and it counted (at least)
    // every request of the last phase.
    let health = reqwest::get(format!("{}/healthz", old.url))
        .await
        .expect("a health answer");
    assert_eq!(health.status(), StatusCode::OK);
    let counted = proxied_public_requests(&old.url).await;
    assert!(
        counted >= load.answered(2),
        "{counted} < {}",
        load.answered(2)
    );
    assert!(
        new_logs.contains("received the listening socket"),
        "{context}"
    );
    assert!(
        old.logs().contains("answers now close their connections"),
        "{context}"
    );
    replacement.stop().await;
}

/// What every gateway these tests start needs: Redis, keys, logs, no stray config file; it
/// dies with the test.
fn with_gateway_env<'a>(
    command: &'a mut tokio::process::Command,
    redis: &TestRedis,
) -> &'a mut tokio::process::Command {
    command
        .env("REDIS_URL", &redis.url)
        .env("REDIS_KEY_PREFIX", &redis.prefix)
        .env("ADMISSION_TOKEN_KEYS", TEST_KEYS)
        .env("RUST_LOG", "info")
        .env_remove("GATEWAY_CONFIG")
        .stdin(Stdio::null())
        .kill_on_drop(true)
}

/// The environment of a gateway started by hand on `port`, waiting on `sock`.
fn upgrade_command(port: u16, sock: &Path, redis: &TestRedis) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_gateway"));
    with_gateway_env(&mut command, redis)
        .arg("--upgrade")
        .env("GATEWAY_LISTEN", format!("127.0.0.1:{port}"))
        .env("GATEWAY_UPSTREAMS", "127.0.0.1:1")
        .env("GATEWAY_UPGRADE_SOCK", sock);
    command
}

fn temp_sock() -> PathBuf {
    std::env::temp_dir().join(format!("gateway-upgrade-{}.sock", uuid::Uuid::new_v4()))
}

#[tokio::test]
async fn an_upgrade_with_no_gateway_running_fails_at_once_and_says_why() {
    let redis = TestRedis::new();
    let port = free_port();

    let output = tokio::time::timeout(
        Duration::from_secs(20),
        upgrade_command(port, &temp_sock(), &redis).output(),
    )
    .await
    .expect("the gateway gave up")
    .expect("running the gateway");

    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!output.status.success(), "{said}");
    assert!(
        said.contains(&format!("nothing listens on 127.0.0.1:{port}")),
        "{said}"
    );
    assert!(said.contains("start without --upgrade"), "{said}");
}

#[tokio::test]
async fn an_upgrade_never_handed_the_socket_gives_up_within_seconds() {
    let redis = TestRedis::new();
    // Something holds the port, but nobody will send it: Pingora's own wait must end.
    let squatter = std::net::TcpListener::bind("127.0.0.1:0").expect("binding");
    let port = squatter.local_addr().expect("address").port();
    let sock = temp_sock();

    let output = tokio::time::timeout(
        Duration::from_secs(30),
        upgrade_command(port, &sock, &redis).output(),
    )
    .await
    .expect("the gateway gave up within 30 s")
    .expect("running the gateway");

    let said = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{said}");
    assert!(said.contains("send it SIGQUIT now"), "{said}");
    assert!(!sock.exists(), "the upgrade socket was left behind");
}

#[tokio::test]
async fn a_sigquit_with_no_new_gateway_waiting_is_refused_and_serving_goes_on() {
    let upstream = EchoUpstream::start().await;
    let redis = TestRedis::new();
    let mut gateway = Gateway::start(GatewayOptions::new(
        &[upstream.address],
        &redis.url,
        &redis.prefix,
    ))
    .await;

    signal(gateway.pid(), "QUIT");
    eventually(
        Duration::from_secs(10),
        "the refusal in the log",
        || async { gateway.logs().contains("SIGQUIT refused").then_some(()) },
    )
    .await;
    let answer = reqwest::get(format!("{}/events", gateway.url))
        .await
        .expect("an answer");

    assert_eq!(answer.status(), StatusCode::OK);
    assert!(
        !gateway.logs().contains("sending socks"),
        "{}",
        gateway.logs()
    );
    gateway.terminate(Duration::from_secs(10)).await;
}
