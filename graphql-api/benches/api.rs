//! API benchmarks: they print numbers, never assert them. Each part builds its own world
//! (fresh database, own Redis prefix, real server on port 0) and measures a baseline in the
//! same run where one exists, so ratios mean something on a shared, noisy machine.
//!
//! `cargo bench -p graphql-api --bench api -- foundation|queue|sale|guard|all`
//! Sizes: BENCH_SEED_LARGE (1,000,000 seats), BENCH_QUEUE_FANS (10,000,000 waiting fans),
//! BENCH_SUBSCRIBERS (10,000 idle queue subscribers).

use std::{
    process::{Command, Stdio},
    sync::Arc,
    time::{Duration, Instant},
};

use entities::seat;
use futures_util::{SinkExt as _, StreamExt as _, stream};
use graphql_api::{
    auth::Identity,
    queue::{
        self,
        store::{self, QueueKeys},
    },
    seats::live,
    seed,
    testing::{TestApp, TestDb, TestRedis},
};
use hdrhistogram::Histogram;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::{
    client::IntoClientRequest as _, http::HeaderValue, protocol::Message,
};

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 600_000_000, 3).expect("histogram")
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1)
}

fn line(name: &str, h: &Histogram<u64>) {
    println!(
        "  {name}: n={} p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        h.len(),
        h.value_at_quantile(0.5) as f64 / 1e3,
        h.value_at_quantile(0.99) as f64 / 1e3,
        h.max() as f64 / 1e3
    );
}

async fn post(
    client: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    query: &str,
    variables: Value,
) -> (usize, Value) {
    let mut request = client
        .post(url)
        .json(&json!({ "query": query, "variables": variables }));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let bytes = request
        .send()
        .await
        .expect("request")
        .bytes()
        .await
        .expect("body");
    (bytes.len(), serde_json::from_slice(&bytes).expect("json"))
}

#[tokio::main]
async fn main() {
    let parts: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let all = parts.is_empty() || parts.iter().any(|p| p == "all");
    let wants = |name: &str| all || parts.iter().any(|p| p == name);
    println!(
        "machine: {} cores; release build; loopback only",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    if wants("foundation") {
        foundation().await;
    }
    if wants("queue") {
        queue_bench().await;
    }
    if wants("sale") {
        sale_bench().await;
    }
    if wants("guard") {
        guard_bench();
    }
}

// ---------------------------------------------------------------------------------------
// Guard: what reading every request before the schema costs, against the parse the schema
// did anyway (the guard keeps its parse, so the schema does not parse again), and how fast
// hostile documents are refused.

fn guard_bench() {
    use async_graphql::{Request, Variables};
    use graphql_api::guard;

    println!("\n## guard (CPU only, one thread)");
    let seat_page = "query SeatPage($first: Int, $after: String, $section: String) { seats(first: $first, after: $after, section: $section) { edges { cursor node { id section row number status version category { id name colour price { amountMinor currency formatted } } } } pageInfo { hasNextPage endCursor } } }";
    let lock = "mutation($s: [ID!]!, $k: String!) { lockSeats(seatIds: $s, idempotencyKey: $k) { id status expiresAt seats { id } total { amountMinor } } }";
    let introspection = "query IntrospectionQuery { __schema { queryType { name } mutationType { name } subscriptionType { name } types { ...FullType } directives { name description locations args { ...InputValue } } } } fragment FullType on __Type { kind name description fields(includeDeprecated: true) { name description args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason } inputFields { ...InputValue } interfaces { ...TypeRef } enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason } possibleTypes { ...TypeRef } } fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue } fragment TypeRef on __Type { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } }";
    let variables =
        json!({ "s": ["1", "2", "3", "4"], "k": "6f1c0d1e-0000-4000-8000-000000000000" });
    let rounds = env_or("BENCH_GUARD_ROUNDS", 20_000);
    for (name, query, vars) in [
        ("seat page", seat_page, json!({ "first": 50 })),
        ("lockSeats", lock, variables),
        ("introspection", introspection, json!({})),
    ] {
        let parse = time_per_op(rounds, || {
            std::hint::black_box(async_graphql::parser::parse_query(query).expect("parses"));
        });
        let checked = time_per_op(rounds, || {
            let request = Request::new(query).variables(Variables::from_json(vars.clone()));
            std::hint::black_box(guard::check(request, true).expect("passes"));
        });
        println!(
            "  {name} ({} bytes): parse {:.1} us, guard incl. parse {:.1} us ({:.2}x; adds {:.1} us)",
            query.len(),
            parse,
            checked,
            checked / parse,
            checked - parse
        );
    }
    let deep = format!(
        "{{ event(id: {}1{}) {{ id }} }}",
        "[".repeat(5_000),
        "]".repeat(5_000)
    );
    let mut fragments = String::from("{ ...F0 }\n");
    for level in 0..9 {
        let spreads = format!("...F{} ", level + 1).repeat(10);
        fragments.push_str(&format!(
            "fragment F{level} on Query {{ a: __typename {spreads} }}\n"
        ));
    }
    fragments.push_str("fragment F9 on Query { __typename }\n");
    for (name, query) in [("5,000-deep list", deep), ("fragments x10^9", fragments)] {
        let refused = time_per_op(rounds.min(2_000), || {
            std::hint::black_box(guard::check(Request::new(query.as_str()), true).is_err());
        });
        println!("  refusing {name} ({} bytes): {refused:.1} us", query.len());
    }
}

/// Mean microseconds per call of `op` over `rounds` calls (after a tenth as warm-up).
fn time_per_op(rounds: u64, mut op: impl FnMut()) -> f64 {
    for _ in 0..rounds / 10 {
        op();
    }
    let started = Instant::now();
    for _ in 0..rounds {
        op();
    }
    started.elapsed().as_secs_f64() * 1e6 / rounds as f64
}

// ---------------------------------------------------------------------------------------
// Foundation: seeding, seatMap, seat pages.

async fn foundation() {
    println!("\n## foundation");
    let app = TestApp::spawn().await;
    let db = &app.db.connection;
    for seats in [10_000, env_or("BENCH_SEED_LARGE", 1_000_000) as u32] {
        let report = seed::seed_event(db, &seed::load_test_spec(seats))
            .await
            .expect("seed");
        println!(
            "  seed {seats} seats: {:.2} s ({:.0} seats/s)",
            report.elapsed.as_secs_f64(),
            report.seats as f64 / report.elapsed.as_secs_f64()
        );
    }
    let event = seed::seed_event(db, &seed::load_test_spec(50_000))
        .await
        .expect("seed 50k")
        .event_id;
    let token = app.admit(event, uuid::Uuid::now_v7()).await;
    let client = reqwest::Client::new();
    let url = format!("{}/sale/{event}/graphql", app.base_url());
    let map = "{ seatMap { seatCount sequence bounds { minX minY maxX maxY } categories { id name colour price { amountMinor currency } } \
        sections { name categoryId seatCount labelX labelY } runs { section row categoryId firstSeatId firstNumber count x y dx dy } status } }";
    post(&client, &url, Some(&token), map, json!({})).await; // warm the layout cache
    let mut latency = histogram();
    let mut size = 0;
    for _ in 0..200 {
        let started = Instant::now();
        let (bytes, body) = post(&client, &url, Some(&token), map, json!({})).await;
        latency.record(micros(started.elapsed())).ok();
        assert!(body.get("errors").is_none(), "{body}");
        size = bytes;
    }
    let gzipped = client
        .post(&url)
        .bearer_auth(&token)
        .header("accept-encoding", "gzip")
        .json(&json!({ "query": map }))
        .send()
        .await
        .expect("request")
        .bytes()
        .await
        .expect("body")
        .len();
    println!(
        "  seatMap, 50,000 seats: {size} bytes ({:.1} bytes/seat), {gzipped} bytes gzipped",
        size as f64 / 50_000.0
    );
    line("seatMap latency (200 sequential requests)", &latency);
    crowd_on_the_map(&app, event, &token, map).await;
    let page = "query($after: String) { seats(first: 100, after: $after) { edges { cursor node { id section row number status category { name } } } pageInfo { hasNextPage endCursor } } }";
    let mut latency = histogram();
    let mut after: Option<String> = None;
    for _ in 0..200 {
        let started = Instant::now();
        let (_, body) = post(&client, &url, Some(&token), page, json!({ "after": after })).await;
        latency.record(micros(started.elapsed())).ok();
        after = body["data"]["seats"]["pageInfo"]["endCursor"]
            .as_str()
            .map(str::to_owned);
    }
    line("seats(first: 100) latency (200 sequential pages)", &latency);
}

/// A crowd loading the 50,000-seat map at once while seats change: fans share one answer
/// per published change, against (nearly) every load building its own; and browsers, who
/// ask for gzip.
async fn crowd_on_the_map(app: &TestApp, event: i64, token: &str, map: &str) {
    let (fans, seconds) = (32, env_or("BENCH_CROWD_SECS", 5));
    let url = format!("{}/sale/{event}/graphql", app.base_url());
    let state = &app.instance.state;
    let change = |n: i64| [(n % 50_000 + 1, seat::SeatStatus::Available, n)];
    let mut results = Vec::new();
    let phases = [
        ("changes published every 20 ms", false, false),
        ("browsers asking for gzip, changes every 20 ms", false, true),
        ("every load after a change of its own", true, false),
    ];
    for (name, every_load_misses, gzip) in phases {
        let deadline = Instant::now() + Duration::from_secs(seconds);
        let (statements, builds) = (state.queries().get(), state.seat_map_builds());
        let publisher = async {
            // Aiming at 50 changes a second, more than a seat rush's measured peak; under
            // the crowd's load the timer fires later, so the count is reported.
            let mut n = 0;
            while !every_load_misses && Instant::now() < deadline {
                n += 1;
                live::publish(state, event, &change(n)).await;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            n
        };
        let loaders = futures_util::future::join_all((0..fans).map(|fan| {
            let (url, client) = (url.clone(), reqwest::Client::new());
            async move {
                let mut latency = histogram();
                let mut n = 0_i64;
                while Instant::now() < deadline {
                    if every_load_misses {
                        n += 1;
                        live::publish(state, event, &change(fan * 1_000_000 + n)).await;
                    }
                    let started = Instant::now();
                    let body = crowd_post(&client, &url, token, map, gzip).await;
                    latency.record(micros(started.elapsed())).ok();
                    assert!(body.get("errors").is_none(), "{body}");
                }
                latency
            }
        }));
        let (published, latencies) = tokio::join!(publisher, loaders);
        let mut all = histogram();
        for h in &latencies {
            all.add(h).ok();
        }
        let rate = all.len() as f64 / seconds as f64;
        let published = if every_load_misses {
            all.len() as i64
        } else {
            published
        };
        println!(
            "  seatMap crowd, {fans} fans for {seconds} s, {name}: {rate:.0} maps/s; {published} changes published, {} maps built and {} Postgres statements for {} answers",
            state.seat_map_builds() - builds,
            state.queries().get() - statements,
            all.len()
        );
        line("seatMap crowd latency", &all);
        results.push(rate);
    }
    println!(
        "  shared answers vs every load building its own: {:.1}x the maps/s",
        results[0] / results[2]
    );
}

/// A fan's map request (with gzip like a browser, or without): the body is unzipped and
/// parsed off the async workers, so the publisher's timer is not starved behind the fans'
/// parsing and the changes come at the rate asked for.
async fn crowd_post(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    query: &str,
    gzip: bool,
) -> Value {
    use std::io::Read as _;

    let mut request = client
        .post(url)
        .bearer_auth(token)
        .json(&json!({ "query": query }));
    if gzip {
        request = request.header("accept-encoding", "gzip");
    }
    let response = request.send().await.expect("request");
    let zipped = response
        .headers()
        .get("content-encoding")
        .is_some_and(|value| value == "gzip");
    assert_eq!(zipped, gzip, "gzip when asked for, and only then");
    let bytes = response.bytes().await.expect("body");
    tokio::task::spawn_blocking(move || {
        if !zipped {
            return serde_json::from_slice(&bytes).expect("json");
        }
        let mut json = Vec::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_end(&mut json)
            .expect("gzip");
        serde_json::from_slice(&json).expect("json")
    })
    .await
    .expect("parsing")
}

// ---------------------------------------------------------------------------------------
// Queue: joins over GraphQL, the raw script, redis-benchmark; 10M waiting fans; subscribers.

fn fan_key(i: u64) -> String {
    format!("{i:032x}")
}

async fn queue_bench() {
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
                let _: Vec<String> = store::run(
                    state.redis(),
                    &store::JOIN,
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
    let sha = store::JOIN.sha1().to_string();
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
                let _: Vec<String> = store::run(
                    state.redis(),
                    &store::JOIN,
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
        let _: Vec<String> = store::run(
            state.redis(),
            &store::JOIN,
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
        let _: Vec<String> = store::run(
            state.redis(),
            &store::STATUS,
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

// ---------------------------------------------------------------------------------------
// Sale: lockSeats vs pgbench; commit-to-subscriber latency.

async fn sale_bench() {
    println!("\n## sale");
    let app = TestApp::spawn_with(|config| config.db_max_connections = 16).await;
    let event = app.seed_event(50_000).await;
    let baseline = pgbench(&app.db.url);
    println!(
        "  pgbench, conditional UPDATE hold+release mix (-c 16 -j 2 -T 15 -M prepared): {baseline:.0} tps"
    );
    let seats = seat_ids(&app, event, 50_000).await;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()
        .expect("client");
    let url = format!("{}/sale/{event}/graphql", app.base_url());

    // Uncontended: every fan on seats of their own.
    let fans = 5_000usize;
    let mut tokens = Vec::with_capacity(fans);
    for _ in 0..fans {
        tokens.push(app.admit(event, uuid::Uuid::now_v7()).await);
    }
    let (rate, latency, taken) = lock_run(&client, &url, &tokens, |i| vec![seats[i]]).await;
    println!(
        "  lockSeats uncontended ({fans} fans, 1 seat each, 32 concurrent): {rate:.0} holds/s, {taken} refused"
    );
    line("lockSeats uncontended", &latency);

    // Contended: 1,000 fans on 100 seats.
    let hot = app.seed_event(200).await;
    let hot_seats = seat_ids(&app, hot, 100).await;
    let hot_url = format!("{}/sale/{hot}/graphql", app.base_url());
    let mut hot_tokens = Vec::with_capacity(1_000);
    for _ in 0..1_000 {
        hot_tokens.push(app.admit(hot, uuid::Uuid::now_v7()).await);
    }
    let (hot_rate, hot_latency, hot_taken) = lock_run(&client, &hot_url, &hot_tokens, |i| {
        vec![hot_seats[(i * 7) % 100]]
    })
    .await;
    println!(
        "  lockSeats contended (1,000 fans on 100 seats, 32 concurrent): {hot_rate:.0} answers/s, {hot_taken} SEAT_TAKEN, {} held",
        1_000 - hot_taken
    );
    line("lockSeats contended", &hot_latency);
    if baseline > 0.0 {
        println!(
            "  ratios to pgbench: uncontended {:.2}, contended {:.2}",
            rate / baseline,
            hot_rate / baseline
        );
    }
    commit_to_subscriber(&app).await;
}

async fn seat_ids(app: &TestApp, event: i64, n: i64) -> Vec<i64> {
    use sea_orm::ConnectionTrait as _;
    let db = &app.db.connection;
    db.query_all_raw(sea_orm::Statement::from_sql_and_values(
        db.get_database_backend(),
        "SELECT id FROM seats WHERE event_id = $1 ORDER BY id LIMIT $2",
        [event.into(), n.into()],
    ))
    .await
    .expect("seats")
    .iter()
    .map(|row| row.try_get::<i64>("", "id").expect("id"))
    .collect()
}

async fn lock_run(
    client: &reqwest::Client,
    url: &str,
    tokens: &[String],
    seats_for: impl Fn(usize) -> Vec<i64>,
) -> (f64, Histogram<u64>, usize) {
    let lock =
        "mutation($s: [ID!]!, $k: String!) { lockSeats(seatIds: $s, idempotencyKey: $k) { id } }";
    let latency = Arc::new(std::sync::Mutex::new(histogram()));
    let taken = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    stream::iter(tokens.iter().enumerate())
        .for_each_concurrent(32, |(i, token)| {
            let seats: Vec<String> = seats_for(i).iter().map(i64::to_string).collect();
            let (latency, taken) = (latency.clone(), taken.clone());
            async move {
                let began = Instant::now();
                let (_, body) = post(
                    client,
                    url,
                    Some(token),
                    lock,
                    json!({ "s": seats, "k": uuid::Uuid::new_v4().to_string() }),
                )
                .await;
                latency
                    .lock()
                    .expect("lock")
                    .record(micros(began.elapsed()))
                    .ok();
                if body.get("errors").is_some() {
                    assert_eq!(
                        body["errors"][0]["extensions"]["code"], "SEAT_TAKEN",
                        "{body}"
                    );
                    taken.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            }
        })
        .await;
    let rate = tokens.len() as f64 / started.elapsed().as_secs_f64();
    let histogram = latency.lock().expect("lock").clone();
    (
        rate,
        histogram,
        taken.load(std::sync::atomic::Ordering::Relaxed),
    )
}

/// pgbench on a copy of the hot path: the same conditional UPDATE on a 50,000-row table.
fn pgbench(url: &str) -> f64 {
    let psql = |sql: &str| {
        Command::new("psql")
            .arg(url)
            .args(["-qAtc", sql])
            .output()
            .expect("psql")
    };
    psql(
        "DROP TABLE IF EXISTS bench_seats; CREATE TABLE bench_seats (id bigint PRIMARY KEY, status text NOT NULL, held_until timestamptz); \
          INSERT INTO bench_seats SELECT g, 'AVAILABLE', NULL FROM generate_series(1, 50000) g;",
    );
    let script = std::env::temp_dir().join(format!("hold-{}.sql", uuid::Uuid::new_v4().simple()));
    std::fs::write(
        &script,
        "\\set id random(1, 50000)\n\
         UPDATE bench_seats SET status = 'HELD', held_until = now() + interval '10 minutes' WHERE id = :id AND (status = 'AVAILABLE' OR held_until <= now());\n\
         UPDATE bench_seats SET status = 'AVAILABLE', held_until = NULL WHERE id = :id AND status = 'HELD';\n",
    )
    .expect("script");
    let output = Command::new("pgbench")
        .args([
            "-n", "-c", "16", "-j", "2", "-T", "15", "-M", "prepared", "-f",
        ])
        .arg(&script)
        .arg(url)
        .output()
        .expect("pgbench (apt-get install postgresql-contrib if missing)");
    let _ = std::fs::remove_file(script);
    let text = String::from_utf8_lossy(&output.stdout);
    text.lines()
        .find(|line| line.starts_with("tps ="))
        .and_then(|line| line.split_whitespace().nth(2))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

async fn commit_to_subscriber(app: &TestApp) {
    let subscribers = 1_000usize;
    let event = app.seed_event(2_000).await;
    let seats = seat_ids(app, event, 400).await;
    let query = "subscription { seatAvailability { toSequence changes { seatId } } }";
    let arrivals: Arc<std::sync::Mutex<Vec<(i64, Instant)>>> =
        Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for _ in 0..subscribers {
        let token = app.admit(event, uuid::Uuid::now_v7()).await;
        let mut request = format!(
            "ws://{}/sale/{event}/graphql?access_token={token}",
            app.instance.address
        )
        .into_client_request()
        .expect("request");
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            HeaderValue::from_static("graphql-transport-ws"),
        );
        let (mut socket, _) = tokio_tungstenite::connect_async(request)
            .await
            .expect("connect");
        socket
            .send(Message::Text(
                json!({ "type": "connection_init" }).to_string().into(),
            ))
            .await
            .expect("init");
        let _ack = socket.next().await;
        socket
            .send(Message::Text(
                json!({ "id": "1", "type": "subscribe", "payload": { "query": query } })
                    .to_string()
                    .into(),
            ))
            .await
            .expect("subscribe");
        let arrivals = arrivals.clone();
        tasks.push(tokio::spawn(async move {
            while let Some(Ok(Message::Text(text))) = socket.next().await {
                let now = Instant::now();
                let value: Value = serde_json::from_str(&text).unwrap_or_default();
                if let Some(changes) =
                    value["payload"]["data"]["seatAvailability"]["changes"].as_array()
                    && let Ok(mut arrivals) = arrivals.lock()
                {
                    for change in changes {
                        if let Some(id) = change["seatId"].as_str().and_then(|id| id.parse().ok()) {
                            arrivals.push((id, now));
                        }
                    }
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let client = reqwest::Client::new();
    let url = format!("{}/sale/{event}/graphql", app.base_url());
    let lock =
        "mutation($s: [ID!]!, $k: String!) { lockSeats(seatIds: $s, idempotencyKey: $k) { id } }";
    let mut committed = std::collections::HashMap::new();
    for seat in seats.iter().take(200) {
        let token = app.admit(event, uuid::Uuid::now_v7()).await;
        let (_, body) = post(
            &client,
            &url,
            Some(&token),
            lock,
            json!({ "s": [seat.to_string()], "k": uuid::Uuid::new_v4().to_string() }),
        )
        .await;
        assert!(body.get("errors").is_none(), "{body}");
        committed.insert(*seat, Instant::now());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut latency = histogram();
    for (seat, at) in arrivals.lock().expect("lock").iter() {
        if let Some(committed) = committed.get(seat) {
            latency
                .record(micros(at.saturating_duration_since(*committed)))
                .ok();
        }
    }
    println!(
        "  commit -> subscriber, {subscribers} subscribers, 200 holds 20 ms apart (SEAT_BATCH_MS={} coalescing): {} deliveries",
        app.instance.state.config().seat_batch_ms,
        latency.len()
    );
    line("commit to subscriber", &latency);
    for task in tasks {
        task.abort();
    }
}
