//! Rate limits: per IP on public routes, per fan on sale routes; they trip at the configured
//! burst and recover at the configured rate.

use std::time::Duration;

use graphql_api::testing::TestApp;
use reqwest::StatusCode;

use crate::support::{
    Gateway, GatewayOptions, SALE_QUERY, admit, code_of, eventually, graphql, redis,
};

#[tokio::test]
async fn the_public_rate_limit_trips_after_the_burst_and_recovers() {
    let app = TestApp::spawn().await;
    let gateway = Gateway::start(
        GatewayOptions::new(&[app.instance.address], &app.redis.url, &app.redis.prefix)
            .set("public_rate_per_sec", "2")
            .set("public_burst", "3"),
    )
    .await;
    let http = reqwest::Client::new();
    let send = || async {
        http.post(format!("{}/graphql", gateway.url))
            .json(&graphql("{ events { id } }"))
            .send()
            .await
            .expect("a response")
    };

    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(send().await.status());
    }
    let limited = send().await;
    let retry_after = limited
        .headers()
        .get("retry-after")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    let limited_status = limited.status();
    let body: serde_json::Value = limited.json().await.expect("JSON");
    let reached_while_limited = app.instance.state.requests().matching("/graphql").len();
    // At 2 per second, one more request is allowed within about half a second.
    let (_, recovered_after) = eventually(Duration::from_secs(2), "recovery", || async {
        (send().await.status() == StatusCode::OK).then_some(())
    })
    .await;

    assert!(
        statuses.iter().all(|status| *status == StatusCode::OK),
        "{statuses:?}"
    );
    assert_eq!(limited_status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(code_of(&body), "RATE_LIMITED");
    assert!(
        retry_after.is_some_and(|seconds| seconds >= 1),
        "{retry_after:?}"
    );
    assert_eq!(
        reached_while_limited, 3,
        "the limited request never reached the API"
    );
    assert!(
        recovered_after < Duration::from_millis(1_500),
        "{recovered_after:?}"
    );
}

#[tokio::test]
async fn the_sale_rate_limit_counts_each_fan_separately() {
    let app = TestApp::spawn().await;
    let event = app.seed_event(20).await;
    let redis = redis(&app.redis.url).await;
    let first = admit(&redis, &app.redis.prefix, "fan-a", event, 600, 0).await;
    let second = admit(&redis, &app.redis.prefix, "fan-b", event, 600, 0).await;
    let gateway = Gateway::start(
        GatewayOptions::new(&[app.instance.address], &app.redis.url, &app.redis.prefix)
            .set("sale_rate_per_sec", "1")
            .set("sale_burst", "2"),
    )
    .await;
    let http = reqwest::Client::new();
    let send = |token: String| {
        let http = http.clone();
        let url = format!("{}/sale/{event}/graphql", gateway.url);
        async move {
            http.post(url)
                .bearer_auth(token)
                .json(&graphql(SALE_QUERY))
                .send()
                .await
                .expect("a response")
                .status()
        }
    };

    let first_fan: Vec<_> = [
        send(first.token.clone()).await,
        send(first.token.clone()).await,
        send(first.token.clone()).await,
    ]
    .into();
    let second_fan = send(second.token.clone()).await;

    assert_eq!(
        first_fan,
        [
            StatusCode::OK,
            StatusCode::OK,
            StatusCode::TOO_MANY_REQUESTS
        ]
    );
    assert_eq!(
        second_fan,
        StatusCode::OK,
        "another fan has their own allowance"
    );
}
