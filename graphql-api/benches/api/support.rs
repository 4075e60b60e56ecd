//! What every part of the benchmark shares: sizes from the environment, latency
//! histograms and their one-line report, and a GraphQL POST.

use std::time::Duration;

use hdrhistogram::Histogram;
use serde_json::{Value, json};

pub(super) fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

pub(super) fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 600_000_000, 3).expect("histogram")
}

pub(super) fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1)
}

pub(super) fn line(name: &str, h: &Histogram<u64>) {
    println!(
        "  {name}: n={} p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        h.len(),
        h.value_at_quantile(0.5) as f64 / 1e3,
        h.value_at_quantile(0.99) as f64 / 1e3,
        h.max() as f64 / 1e3
    );
}

pub(super) async fn post(
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
