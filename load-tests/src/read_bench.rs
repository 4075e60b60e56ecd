//! `read-bench`: the sale schema's read side (seat map and 100-seat pages), one request at
//! a time, to see the cost of one read without contention.

use std::time::Instant;

use anyhow::{Context as _, bail};
use hdrhistogram::Histogram;
use serde_json::{Value, json};

use crate::{config::ReadBenchArgs, http::ensure_loopback, metrics::micros};

const SEAT_MAP: &str = "{ seatMap { seatCount bounds { minX minY maxX maxY } \
    categories { id name colour price { amountMinor currency } } \
    sections { name categoryId seatCount labelX labelY } \
    runs { section row categoryId firstSeatId firstNumber count x y dx dy } status } }";

const SEATS_PAGE: &str = "query($after: String) { seats(first: 100, after: $after) { \
    edges { cursor node { id section row number status category { name } } } \
    pageInfo { hasNextPage endCursor } } }";

/// Runs `read-bench`.
pub async fn read_bench(args: ReadBenchArgs) -> anyhow::Result<i32> {
    let (url, event, requests) = (args.url.as_str(), args.event, args.requests);
    ensure_loopback(url)?;
    let client = reqwest::Client::builder().build()?;
    let endpoint = format!("{}/sale/{event}/graphql", url.trim_end_matches('/'));

    // Warm up caches (layout, prepared statements) before measuring.
    let warm = post(&client, &endpoint, SEAT_MAP, json!({})).await?;
    let seat_count = warm.1["data"]["seatMap"]["seatCount"].as_i64().unwrap_or(0);
    println!("event {event}: {seat_count} seats, {requests} requests per operation, sequential");

    let mut map_latency = Histogram::<u64>::new(3)?;
    let mut map_bytes = 0usize;
    for _ in 0..requests {
        let started = Instant::now();
        let (bytes, _) = post(&client, &endpoint, SEAT_MAP, json!({})).await?;
        map_latency.record(micros(started.elapsed()))?;
        map_bytes = bytes;
    }
    report("seatMap", &map_latency);
    println!(
        "  response size: {map_bytes} bytes ({:.1} bytes/seat, uncompressed)",
        map_bytes as f64 / seat_count.max(1) as f64
    );
    let gz_bytes = gzip_size(&client, &endpoint).await?;
    println!("  response size gzip: {gz_bytes} bytes");

    let mut page_latency = Histogram::<u64>::new(3)?;
    let mut after: Option<String> = None;
    for _ in 0..requests {
        let started = Instant::now();
        let (_, body) = post(&client, &endpoint, SEATS_PAGE, json!({ "after": after })).await?;
        page_latency.record(micros(started.elapsed()))?;
        let info = &body["data"]["seats"]["pageInfo"];
        after = if info["hasNextPage"].as_bool() == Some(true) {
            info["endCursor"].as_str().map(str::to_owned)
        } else {
            None
        };
    }
    report("seats(first: 100)", &page_latency);
    Ok(0)
}

async fn post(
    client: &reqwest::Client,
    endpoint: &str,
    query: &str,
    variables: Value,
) -> anyhow::Result<(usize, Value)> {
    let response = client
        .post(endpoint)
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await
        .context("sending a request")?;
    let bytes = response.bytes().await.context("reading a response")?;
    let body: Value = serde_json::from_slice(&bytes).context("parsing a response")?;
    if body.get("errors").is_some() {
        bail!("the API answered with errors: {}", body["errors"]);
    }
    Ok((bytes.len(), body))
}

async fn gzip_size(client: &reqwest::Client, endpoint: &str) -> anyhow::Result<usize> {
    let response = client
        .post(endpoint)
        .header("accept-encoding", "gzip")
        .json(&json!({ "query": SEAT_MAP }))
        .send()
        .await?;
    Ok(response.bytes().await?.len())
}

fn report(name: &str, histogram: &Histogram<u64>) {
    let ms = |q: f64| histogram.value_at_quantile(q) as f64 / 1e3;
    println!(
        "{name}: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms over {} requests",
        ms(0.5),
        ms(0.99),
        histogram.max() as f64 / 1e3,
        histogram.len()
    );
}
