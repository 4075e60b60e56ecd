//! The seat map a crowd loads (issue 15, 5(d)): fans loading a 50,000-seat event's map while
//! seats change, the way the web client did (one `seatMap` answer: layout and states
//! together) against the way it does now (the layout as a file the browser keeps, the states
//! as a snapshot), side by side in one run.
//!
//! Each phase runs BENCH_MAP_FANS fans (32) for BENCH_MAP_SECS seconds (5) against the same
//! instance while a publisher announces a seat change every 20 ms, and reports loads/s,
//! latency per load, body bytes per load as sent (gzip, as browsers ask) and the Postgres
//! statements spent.

use std::{
    io::Read as _,
    sync::atomic::{AtomicU64, Ordering},
    time::{Duration, Instant},
};

use entities::seat;
use graphql_api::{inventory, seed, testing::TestApp};
use serde_json::{Value, json};

use crate::support::{env_or, histogram, line, micros};

/// The web client's query before this change (`client/src/api/sale/operations.graphql`).
const SEAT_MAP: &str = "query SeatMap { seatMap { eventId seatCount status sequence \
    bounds { minX minY maxX maxY } categories { id name colour price { amountMinor currency formatted } } \
    sections { name categoryId labelX labelY seatCount } \
    runs { section row firstSeatId firstNumber count x y dx dy categoryId } } }";
/// The web client's query now: the states alone.
const SEAT_STATES: &str = "query SeatStates { seatStates { sequence states layoutVersion } }";

/// How a fan loads the map in a phase.
#[derive(Clone, Copy)]
enum Load {
    /// `seatMap`: layout and states in one answer.
    SeatMap,
    /// First visit: the layout file and the states snapshot, side by side.
    FirstVisit,
    /// A reload with the layout in the browser's HTTP cache: `If-None-Match` (304) and the
    /// snapshot.
    Revalidated,
    /// A reload with the layout in the page's own store: the snapshot alone.
    Stored,
}

pub(super) async fn seatmap_bench() {
    println!("\n## seatmap (issue 15, 5(d))");
    let app = TestApp::spawn().await;
    let event = seed::seed_event(&app.db.connection, &seed::load_test_spec(50_000))
        .await
        .expect("seed 50k")
        .event_id;
    let token = app.admit(event, uuid::Uuid::now_v7()).await;
    let client = reqwest::Client::new();
    let base = app.base_url();
    // Warm the layout and event caches, and learn the layout's ETag.
    let layout = client
        .get(format!("{base}/events/{event}/layout.json"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .expect("layout");
    let etag = layout.headers()["etag"].to_str().expect("etag").to_owned();
    let zipped = layout.bytes().await.expect("layout").len();
    let plain = client
        .get(format!("{base}/events/{event}/layout.json"))
        .send()
        .await
        .expect("layout")
        .bytes()
        .await
        .expect("layout")
        .len();
    println!("  layout file of 50,000 seats: {plain} bytes, {zipped} gzipped");
    post(
        &client,
        &format!("{base}/sale/{event}/graphql"),
        &token,
        SEAT_MAP,
    )
    .await;

    let phases = [
        (
            "today: seatMap, layout and states in one answer",
            Load::SeatMap,
        ),
        (
            "new, first visit: layout file + seatStates",
            Load::FirstVisit,
        ),
        (
            "new, reload: layout 304 (If-None-Match) + seatStates",
            Load::Revalidated,
        ),
        (
            "new, reload: layout from the page's store + seatStates",
            Load::Stored,
        ),
    ];
    let mut rates = Vec::new();
    for (name, load) in phases {
        rates.push(crowd(&app, event, &token, &etag, name, load).await);
    }
    println!(
        "  loads/s against today's seatMap: first visit {:.1}x, reload (304) {:.1}x, reload (stored) {:.1}x",
        rates[1] / rates[0],
        rates[2] / rates[0],
        rates[3] / rates[0]
    );
}

/// One phase: the crowd loads for the configured time while a seat change is announced
/// every 20 ms; returns loads/s.
async fn crowd(app: &TestApp, event: i64, token: &str, etag: &str, name: &str, load: Load) -> f64 {
    let (fans, seconds) = (env_or("BENCH_MAP_FANS", 32), env_or("BENCH_MAP_SECS", 5));
    let state = &app.instance.state;
    let base = app.base_url();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let (statements, builds) = (state.queries().get(), state.seat_map_builds());
    let bytes = AtomicU64::new(0);
    let publisher = async {
        let mut n = 0_i64;
        while Instant::now() < deadline {
            n += 1;
            let change = [(n % 50_000 + 1, seat::SeatStatus::Available, n)];
            inventory::publish(state, event, &change).await;
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        n
    };
    let loaders = futures_util::future::join_all((0..fans).map(|_| {
        let (client, base, bytes) = (reqwest::Client::new(), base.clone(), &bytes);
        async move {
            let mut latency = histogram();
            while Instant::now() < deadline {
                let started = Instant::now();
                let spent = load_once(&client, &base, event, token, etag, load).await;
                latency.record(micros(started.elapsed())).ok();
                bytes.fetch_add(spent, Ordering::Relaxed);
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
    println!(
        "  {name}: {rate:.0} loads/s, {} bytes per load; {published} changes announced, {} builds and {} Postgres statements for {} loads",
        bytes.load(Ordering::Relaxed) / all.len().max(1),
        state.seat_map_builds() - builds,
        state.queries().get() - statements,
        all.len()
    );
    line("    latency per load", &all);
    rate
}

/// One fan's load of the map, parsed as the page would; returns the body bytes received.
async fn load_once(
    client: &reqwest::Client,
    base: &str,
    event: i64,
    token: &str,
    etag: &str,
    load: Load,
) -> u64 {
    let sale = format!("{base}/sale/{event}/graphql");
    let layout = format!("{base}/events/{event}/layout.json");
    match load {
        Load::SeatMap => post(client, &sale, token, SEAT_MAP).await,
        Load::Stored => post(client, &sale, token, SEAT_STATES).await,
        Load::FirstVisit | Load::Revalidated => {
            let mut request = client.get(&layout).header("accept-encoding", "gzip");
            if matches!(load, Load::Revalidated) {
                request = request.header("if-none-match", etag);
            }
            let (file, states) = tokio::join!(
                async {
                    let response = request.send().await.expect("layout");
                    let status = response.status().as_u16();
                    let body = response.bytes().await.expect("body");
                    assert!(status == 200 || status == 304, "layout answered {status}");
                    if status == 200 {
                        parse(body.clone(), true).await;
                    }
                    body.len() as u64
                },
                post(client, &sale, token, SEAT_STATES)
            );
            file + states
        }
    }
}

/// A sale query asked with gzip, as a browser does; returns the body bytes received.
async fn post(client: &reqwest::Client, url: &str, token: &str, query: &str) -> u64 {
    let response = client
        .post(url)
        .bearer_auth(token)
        .header("accept-encoding", "gzip")
        .json(&json!({ "query": query }))
        .send()
        .await
        .expect("request");
    let zipped = response
        .headers()
        .get("content-encoding")
        .is_some_and(|value| value == "gzip");
    let body = response.bytes().await.expect("body");
    let size = body.len() as u64;
    let parsed = parse(body, zipped).await;
    assert!(parsed.get("errors").is_none(), "{parsed}");
    size
}

/// Unzips and parses off the async workers, so the publisher's timer keeps its pace.
async fn parse(body: axum::body::Bytes, zipped: bool) -> Value {
    tokio::task::spawn_blocking(move || {
        if !zipped {
            return serde_json::from_slice(&body).expect("json");
        }
        let mut json = Vec::new();
        flate2::read::GzDecoder::new(&body[..])
            .read_to_end(&mut json)
            .expect("gzip");
        serde_json::from_slice(&json).expect("json")
    })
    .await
    .expect("parsing")
}
