//! `load-tests`: fan journeys and benchmarks against a running system (normally the gateway).
//!
//! Today it has `read-bench`, which measures the sale schema's read side (seat map and seat
//! pages). The rush scenarios (`queue-rush`, `seat-rush`, `journey`, `browse`) come with the
//! load-test issue.

use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::{Parser, Subcommand};
use hdrhistogram::Histogram;
use serde_json::{Value, json};

/// Load tests and benchmarks for the ticketing system. Loopback targets only.
#[derive(Debug, Parser)]
#[command(name = "load-tests", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Time `seatMap` and 100-seat `seats` pages of one event, one request at a time.
    ReadBench {
        /// Base URL of the API or gateway.
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        url: String,
        /// Event id to read.
        #[arg(long)]
        event: i64,
        /// Requests per measured operation.
        #[arg(long, default_value_t = 200)]
        requests: u32,
    },
}

const SEAT_MAP: &str = "{ seatMap { seatCount bounds { minX minY maxX maxY } \
    categories { id name colour price { amountMinor currency } } \
    sections { name categoryId seatCount labelX labelY } \
    runs { section row categoryId firstSeatId firstNumber count x y dx dy } status } }";

const SEATS_PAGE: &str = "query($after: String) { seats(first: 100, after: $after) { \
    edges { cursor node { id section row number status category { name } } } \
    pageInfo { hasNextPage endCursor } } }";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::ReadBench {
            url,
            event,
            requests,
        } => read_bench(&url, event, requests).await,
    }
}

async fn read_bench(url: &str, event: i64, requests: u32) -> anyhow::Result<()> {
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
    Ok(())
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

fn micros(duration: Duration) -> u64 {
    u64::try_from(duration.as_micros()).unwrap_or(u64::MAX)
}

/// Load tests must only ever target this machine.
fn ensure_loopback(url: &str) -> anyhow::Result<()> {
    let host = url
        .split("://")
        .nth(1)
        .and_then(|rest| rest.split(['/', ':']).next())
        .unwrap_or_default();
    if host == "localhost" || host.starts_with("127.") {
        Ok(())
    } else {
        bail!("refusing to load-test {host}: loopback addresses (127.0.0.0/8) only")
    }
}
