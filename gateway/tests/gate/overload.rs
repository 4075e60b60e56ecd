//! Overload through the gateway: the API's `BUSY` (503, `Retry-After`) reaches the client
//! unchanged, and the gateway's own overload answers say when to retry too.

use graphql_api::{shed::Kind, testing::TestApp};
use reqwest::{Response, StatusCode};
use serde_json::Value;

use crate::support::{Gateway, GatewayOptions, admit, code_of, free_port, graphql, redis};

/// Status, `Retry-After` and JSON body of an answer.
async fn read(response: Response) -> (StatusCode, Option<String>, Value) {
    let status = response.status();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    (
        status,
        retry_after,
        response.json().await.expect("a JSON body"),
    )
}

#[tokio::test]
async fn a_busy_answer_of_the_api_passes_through_unchanged() {
    let app = TestApp::spawn_with(|config| {
        config.shed_public_calls = Some(1);
        config.shed_wait_ms = 0;
        config.shed_retry_after_ms = 2_500;
    })
    .await;
    let gateway = Gateway::start(GatewayOptions::new(
        &[app.instance.address],
        &app.redis.url,
        &app.redis.prefix,
    ))
    .await;
    let http = reqwest::Client::new();
    // The one permit of the public calls, held as an operation in flight would hold it.
    let _held = app
        .instance
        .state
        .shed()
        .acquire(Kind::PublicCalls)
        .await
        .expect("the only permit");

    let through = http
        .post(format!("{}/graphql", gateway.url))
        .json(&graphql("{ events { id } }"))
        .send()
        .await
        .expect("a response");
    let (status, retry_after, body) = read(through).await;

    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["errors"][0]["extensions"]["code"], "BUSY", "{body}");
    assert_eq!(body["errors"][0]["extensions"]["retryAfterMs"], 2_500);
    assert_eq!(retry_after.as_deref(), Some("3"));
}

#[tokio::test]
async fn the_gateways_own_unavailable_answers_carry_retry_after() {
    let app = TestApp::spawn().await;
    let event = app.seed_event(10).await;
    let redis_client = redis(&app.redis.url).await;
    let fan = admit(&redis_client, &app.redis.prefix, "fan-o", event, 600, 0).await;
    // Nothing listens at either address.
    let dead_upstream: std::net::SocketAddr = ([127, 0, 0, 1], free_port()).into();
    let dead_redis = format!("redis://127.0.0.1:{}/0", free_port());
    let no_upstream = Gateway::start(GatewayOptions::new(
        &[dead_upstream],
        &app.redis.url,
        &app.redis.prefix,
    ))
    .await;
    let no_gate = Gateway::start(GatewayOptions::new(
        &[app.instance.address],
        &dead_redis,
        &app.redis.prefix,
    ))
    .await;
    let http = reqwest::Client::new();

    let unrouted = http
        .post(format!("{}/graphql", no_upstream.url))
        .json(&graphql("{ events { id } }"))
        .send()
        .await
        .expect("a response");
    let ungated = http
        .post(format!("{}/sale/{event}/graphql", no_gate.url))
        .bearer_auth(&fan.token)
        .json(&graphql("{ seatCategories { name } }"))
        .send()
        .await
        .expect("a response");
    let (unrouted_status, unrouted_retry, unrouted_body) = read(unrouted).await;
    let (ungated_status, ungated_retry, ungated_body) = read(ungated).await;

    assert_eq!(unrouted_status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(code_of(&unrouted_body), "NO_UPSTREAM");
    assert_eq!(unrouted_retry.as_deref(), Some("1"));
    assert_eq!(ungated_status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(code_of(&ungated_body), "GATE_UNAVAILABLE");
    assert_eq!(ungated_retry.as_deref(), Some("1"));
}
