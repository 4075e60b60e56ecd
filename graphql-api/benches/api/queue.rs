//! Queue: joins over GraphQL, the raw script, redis-benchmark; 10M waiting fans; subscribers.

use std::{
    process::{Command, Stdio},
    sync::Arc,
    time::{Duration, Instant},
};

use futures_util::{SinkExt as _, StreamExt as _, stream};
use graphql_api::{
    auth::Identity,
    queue,
    queue_store::scripts,
    redis::run_script,
    testing::{TestApp, TestDb, TestRedis},
};
use serde_json::json;
use tokens::store::QueueKeys;
use tokio_tungstenite::tungstenite::{
    client::IntoClientRequest as _, http::HeaderValue, protocol::Message,
};

use crate::support::{env_or, histogram, line, micros, post};

fn fan_key(i: u64) -> String {
    format!("{i:032x}")
}

pub(super) async fn queue_bench() {
    println!("\n## queue");
    let app = TestApp::spawn().await;
    let state = app.instance.state.clone();
    let event = graphql_api::events::find_event_by_id(&state, app.seed_event(100).await)
        .await
        .expect("event");

    // joinQueue through GraphQL over HTTP, 64 at a time.
    let joins = 20_000u64;
    let tokens: Vec<String> = (0..joins)
        .map(|_| app.access_token(uuid::Uuid::new_v4(), "FAN"))
        .collect();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()
        .expect("client");
    let url = format!("{}/graphql", app.base_url());
    let join = "mutation($e: ID!) { joinQueue(eventId: $e) { state position ticketNumber } }";
    let latency = Arc::new(std::sync::Mutex::new(histogram()));
    let started = Instant::now();
    stream::iter(tokens.iter())
        .for_each_concurrent(64, |token| {
            let (client, url, latency) = (&client, &url, latency.clone());
            let event_id = event.id.to_string();
            async move {
                let began = Instant::now();
                let (_, body) =
                    post(client, url, Some(token), join, json!({ "e": event_id })).await;
                assert!(body.get("errors").is_none(), "{body}");
                latency
                    .lock()
                    .expect("lock")
                    .record(micros(began.elapsed()))
                    .ok();
            }
        })
        .await;
    let graphql_rate = joins as f64 / started.elapsed().as_secs_f64();
    println!("  joinQueue over GraphQL/HTTP (64 concurrent): {graphql_rate:.0} joins/s");
    line("joinQueue latency", &latency.lock().expect("lock"));

    // The same script straight through fred, 64 at a time.
    let raw_event = 900_000_000 + rand_u32() as i64;
    let keys = QueueKeys::new(state.keys(), raw_event);
    let script_keys = keys.join_keys();
    let raw_joins = 100_000u64;
    let started = Instant::now();
    stream::iter(0..raw_joins)
        .for_each_concurrent(64, |i| {
            let (state, script_keys) = (&state, script_keys.clone());
            async move {
                let _: Vec<String> = run_script(
                    state.redis(),
                    &scripts::JOIN,
                    script_keys,
                    vec![fan_key(i), "0".into()],
                )
                .await
                .expect("join");
            }
        })
        .await;
    let raw_rate = raw_joins as f64 / started.elapsed().as_secs_f64();
    println!("  join script via fred (64 concurrent): {raw_rate:.0} joins/s");

    // redis-benchmark running EVALSHA of the same script, random fans, in the same run.
    let sha = scripts::JOIN.sha1().to_string();
    let bench_event = raw_event + 1;
    let bkeys = QueueKeys::new(state.keys(), bench_event);
    let mut args: Vec<String> = vec![
        "-n".into(),
        "200000".into(),
        "-c".into(),
        "50".into(),
        "-r".into(),
        "100000000".into(),
        "-q".into(),
        "EVALSHA".into(),
        sha,
        "9".into(),
    ];
    args.extend(bkeys.join_keys());
    args.extend(["fan:__rand_int__".to_owned(), "0".to_owned()]);
    let output = Command::new("redis-benchmark")
        .args(&args)
        .output()
        .expect("redis-benchmark");
    let text = String::from_utf8_lossy(&output.stdout);
    let baseline: f64 = text
        .split_whitespace()
        .collect::<Vec<_>>()
        .windows(2)
        .find(|w| w[1].starts_with("requests"))
        .and_then(|w| w[0].parse().ok())
        .unwrap_or(0.0);
    println!("  redis-benchmark EVALSHA of the same script (-c 50): {baseline:.0} joins/s");
    if baseline > 0.0 {
        println!(
            "  ratios: GraphQL/redis-benchmark {:.2}, script-via-fred/redis-benchmark {:.2}",
            graphql_rate / baseline,
            raw_rate / baseline
        );
    }

    ten_million(&state).await;
    idle_subscribers(&app).await;
}

fn rand_u32() -> u32 {
    (uuid::Uuid::new_v4().as_u128() & 0x00ff_ffff) as u32
}

fn used_memory() -> u64 {
    let output = Command::new("redis-cli")
        .args(["INFO", "memory"])
        .output()
        .expect("redis-cli");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .find_map(|line| line.strip_prefix("used_memory:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

async fn ten_million(state: &graphql_api::state::AppState) {
    let fans = env_or("BENCH_QUEUE_FANS", 10_000_000);
    let event = 800_000_000 + rand_u32() as i64;
    let keys = QueueKeys::new(state.keys(), event);
    let script_keys = keys.join_keys();
    let before = used_memory();
    let started = Instant::now();
    stream::iter(0..fans)
        .for_each_concurrent(256, |i| {
            let script_keys = script_keys.clone();
            async move {
                let _: Vec<String> = run_script(
                    state.redis(),
                    &scripts::JOIN,
                    script_keys,
                    vec![fan_key(i), "0".into()],
                )
                .await
                .expect("join");
            }
        })
        .await;
    let fill = started.elapsed();
    let after = used_memory();
    println!(
        "  {fans} fans waiting in one event: filled in {:.1} s ({:.0} joins/s); Redis memory +{:.0} MiB ({:.0} bytes/fan)",
        fill.as_secs_f64(),
        fans as f64 / fill.as_secs_f64(),
        (after.saturating_sub(before)) as f64 / 1_048_576.0,
        after.saturating_sub(before) as f64 / fans as f64
    );
    let mut join = histogram();
    for i in 0..2_000 {
        let began = Instant::now();
        let _: Vec<String> = run_script(
            state.redis(),
            &scripts::JOIN,
            script_keys.clone(),
            vec![fan_key(fans + i), "0".into()],
        )
        .await
        .expect("join");
        join.record(micros(began.elapsed())).ok();
    }
    line(&format!("join at {fans} waiting (sequential)"), &join);
    let status_keys = vec![
        keys.wait.clone(),
        keys.pre.clone(),
        keys.adm.clone(),
        keys.tok.clone(),
        keys.meta.clone(),
        keys.out.clone(),
    ];
    let mut position = histogram();
    for i in 0..2_000u64 {
        let fan = fan_key((i * 4_999) % fans);
        let began = Instant::now();
        let _: Vec<String> = run_script(
            state.redis(),
            &scripts::STATUS,
            status_keys.clone(),
            vec![fan],
        )
        .await
        .expect("status");
        position.record(micros(began.elapsed())).ok();
    }
    line(
        &format!("exact position (ZRANK) at {fans} waiting (sequential)"),
        &position,
    );
    let _: i64 = fred::prelude::KeysInterface::del(
        state.redis(),
        vec![keys.wait, keys.alive, keys.clock, keys.seq, keys.meta],
    )
    .await
    .unwrap_or(0);
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// The API as its own process (so its memory is only its own), on the app's database.
struct ApiProcess {
    child: std::process::Child,
    address: String,
}

impl Drop for ApiProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn api_process(db: &TestDb, redis: &TestRedis) -> ApiProcess {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("port")
        .local_addr()
        .expect("addr")
        .port();
    let child = Command::new(env!("CARGO_BIN_EXE_graphql-api"))
        .arg("serve")
        .env("API_BIND", format!("127.0.0.1:{port}"))
        .env("DATABASE_URL", &db.url)
        .env("REDIS_URL", &redis.url)
        .env("REDIS_KEY_PREFIX", &redis.prefix)
        .env("WORKERS_ENABLED", "false")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting graphql-api");
    let address = format!("127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while reqwest::get(format!("http://{address}/healthz"))
        .await
        .is_err()
    {
        assert!(Instant::now() < deadline, "graphql-api did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    ApiProcess { child, address }
}

async fn idle_subscribers(app: &TestApp) {
    let count = env_or("BENCH_SUBSCRIBERS", 10_000);
    let api = api_process(&app.db, &app.redis).await;
    let state = &app.instance.state;
    let event = graphql_api::events::find_event_by_id(state, app.seed_event(100).await)
        .await
        .expect("event");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = rss_kib(api.child.id());
    let mut sockets = Vec::with_capacity(count as usize);
    let query = "subscription($e: ID!) { queuePosition(eventId: $e) { state position } }";
    for _ in 0..count {
        let identity = Identity {
            user_id: uuid::Uuid::new_v4(),
            role: entities::user::Role::Fan,
        };
        queue::join(state, &event, &identity).await.expect("join");
        let token = app.access_token(identity.user_id, "FAN");
        let mut request = format!("ws://{}/graphql", api.address)
            .into_client_request()
            .expect("request");
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            HeaderValue::from_static("graphql-transport-ws"),
        );
        let (mut socket, _) = tokio_tungstenite::connect_async(request)
            .await
            .expect("connect");
        let init = json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {token}") } });
        socket
            .send(Message::Text(init.to_string().into()))
            .await
            .expect("init");
        let _ack = socket.next().await;
        let subscribe = json!({ "id": "1", "type": "subscribe", "payload": { "query": query, "variables": { "e": event.id.to_string() } } });
        socket
            .send(Message::Text(subscribe.to_string().into()))
            .await
            .expect("subscribe");
        let _first = socket.next().await;
        sockets.push(socket);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = rss_kib(api.child.id());
    println!(
        "  {count} idle queuePosition subscribers: API resident memory {:.1} MiB -> {:.1} MiB, {:.1} KiB per subscriber",
        before as f64 / 1024.0,
        after as f64 / 1024.0,
        after.saturating_sub(before) as f64 / count as f64
    );
    drop(sockets);
}
