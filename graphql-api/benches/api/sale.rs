//! Sale: lockSeats vs pgbench; commit-to-subscriber latency.

use std::{
    process::Command,
    sync::Arc,
    time::{Duration, Instant},
};

use futures_util::{SinkExt as _, StreamExt as _, stream};
use graphql_api::testing::TestApp;
use hdrhistogram::Histogram;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::{
    client::IntoClientRequest as _, http::HeaderValue, protocol::Message,
};

use crate::support::{histogram, line, micros, post};

pub(super) async fn sale_bench() {
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
