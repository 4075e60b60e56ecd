//! The seat layout is a public route: it passes the gateway without an admission token, with
//! its caching headers, `304` answers and gzip body intact, while everything under `/sale`
//! stays gated.

use graphql_api::testing::TestApp;
use reqwest::{StatusCode, header};
use serde_json::Value;

use crate::support::{Gateway, GatewayOptions, code_of};

fn header_of(response: &reqwest::Response, name: header::HeaderName) -> String {
    response
        .headers()
        .get(name)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn the_seat_layout_passes_without_a_token_with_its_etag_304_gzip_and_immutable_name() {
    let app = TestApp::spawn().await;
    let event = app.seed_event(200).await;
    let gateway = Gateway::start(GatewayOptions::new(
        &[app.instance.address],
        &app.redis.url,
        &app.redis.prefix,
    ))
    .await;
    let client = reqwest::Client::new();
    let current = format!("{}/events/{event}/layout.json", gateway.url);

    let first = client
        .get(&current)
        .header("accept-encoding", "gzip")
        .send()
        .await
        .expect("a response");
    let etag = header_of(&first, header::ETAG);
    let (status, encoding, cache) = (
        first.status(),
        header_of(&first, header::CONTENT_ENCODING),
        header_of(&first, header::CACHE_CONTROL),
    );
    let zipped = first.bytes().await.expect("a body");
    let again = client
        .get(&current)
        .header("accept-encoding", "gzip")
        .header("if-none-match", &etag)
        .send()
        .await
        .expect("a response");
    let version = etag.trim_matches('"').trim_end_matches("-gzip").to_owned();
    let versioned = client
        .get(format!(
            "{}/events/{event}/layout/{version}.json",
            gateway.url
        ))
        .send()
        .await
        .expect("a response");
    let gated = client
        .get(format!("{}/sale/{event}/layout.json", gateway.url))
        .send()
        .await
        .expect("a response");

    assert_eq!(status, StatusCode::OK);
    assert_eq!(encoding, "gzip");
    assert_eq!(cache, "no-cache");
    assert!(zipped.starts_with(&[0x1f, 0x8b]), "a gzip body, untouched");
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(header_of(&again, header::ETAG), etag);
    assert_eq!(versioned.status(), StatusCode::OK);
    assert_eq!(
        header_of(&versioned, header::CACHE_CONTROL),
        "public, max-age=31536000, immutable"
    );
    let layout: Value = versioned.json().await.expect("JSON");
    assert_eq!(layout["seatCount"], 200);
    assert_eq!(gated.status(), StatusCode::UNAUTHORIZED);
    let gated: Value = gated.json().await.expect("JSON");
    assert_eq!(code_of(&gated), "QUEUE_TOKEN_REQUIRED");
    let reached = app.instance.state.requests().matching("/events/");
    assert_eq!(reached.len(), 3, "{reached:?}");
}
