//! Foundation: seeding, seatMap, seat pages.

use std::time::{Duration, Instant};

use entities::seat;
use graphql_api::{inventory, seed, testing::TestApp};
use serde_json::{Value, json};

use crate::support::{env_or, histogram, line, micros, post};

pub(super) async fn foundation() {
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
                inventory::publish(state, event, &change(n)).await;
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
                        inventory::publish(state, event, &change(fan * 1_000_000 + n)).await;
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
