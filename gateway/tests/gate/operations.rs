//! Operations: the gateway's own health and metrics, access logs without tokens, body and
//! connection limits, slow clients, and a graceful stop.

use std::time::Duration;

use graphql_api::testing::TestApp;
use reqwest::StatusCode;
use tokio::{
    io::{AsyncReadExt as _, AsyncWriteExt as _},
    net::TcpStream,
};

use crate::support::{Gateway, GatewayOptions, SALE_QUERY, admit, code_of, graphql, redis};

#[tokio::test]
async fn the_gateway_answers_its_own_health_and_prometheus_metrics() {
    let app = TestApp::spawn().await;
    let event = app.seed_event(20).await;
    let redis = redis(&app.redis.url).await;
    let fan = admit(&redis, &app.redis.prefix, "fan-m", event, 600, 0).await;
    let gateway = Gateway::start(GatewayOptions::new(
        &[app.instance.address],
        &app.redis.url,
        &app.redis.prefix,
    ))
    .await;
    let http = reqwest::Client::new();
    for _ in 0..3 {
        http.post(format!("{}/sale/{event}/graphql", gateway.url))
            .bearer_auth(&fan.token)
            .json(&graphql(SALE_QUERY))
            .send()
            .await
            .expect("a response");
    }
    http.post(format!("{}/sale/{event}/graphql", gateway.url))
        .json(&graphql(SALE_QUERY))
        .send()
        .await
        .expect("a response");

    let health = http
        .get(format!("{}/healthz", gateway.url))
        .send()
        .await
        .expect("a response");
    let metrics = gateway.metrics().await;

    assert_eq!(health.status(), StatusCode::OK);
    assert!(
        app.instance
            .state
            .requests()
            .matching("/healthz")
            .is_empty()
    );
    for line in [
        "gateway_requests_total{outcome=\"proxied\",route=\"sale\"} 3",
        "gateway_requests_total{outcome=\"QUEUE_TOKEN_REQUIRED\",route=\"sale\"} 1",
        "gateway_token_cache_misses_total 1",
        "gateway_token_cache_hits_total 2",
        // One signature check: the first request's second look (after its record was
        // fetched) and the later requests find the token already verified.
        "gateway_verified_token_misses_total 1",
        "gateway_verified_token_hits_total 3",
        &format!(
            "gateway_upstream_healthy{{upstream=\"{}\"}} 1",
            app.instance.address
        ),
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "missing `{line}`:\n{metrics}"
        );
    }
    assert!(
        metrics.contains("gateway_token_cache_hit_ratio 0.66"),
        "{metrics}"
    );
    assert!(metrics.contains("gateway_request_duration_seconds_bucket{route=\"sale\""));
}

#[tokio::test]
async fn metrics_are_only_for_the_networks_allowed_to_read_them() {
    let app = TestApp::spawn().await;
    // Loopback is allowed by default; here only a network the test is not in.
    let gateway = Gateway::start(
        GatewayOptions::new(&[app.instance.address], &app.redis.url, &app.redis.prefix)
            .set("metrics_allow", r#"["10.0.0.0/8", "192.0.2.7"]"#),
    )
    .await;

    let response = reqwest::get(format!("{}/metrics", gateway.url))
        .await
        .expect("a response");
    let status = response.status();
    let body: serde_json::Value = response.json().await.expect("a JSON refusal");

    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(code_of(&body), "NOT_FOUND", "{body}");
    assert!(!body.to_string().contains("gateway_requests_total"));
    assert!(
        app.instance
            .state
            .requests()
            .matching("/metrics")
            .is_empty()
    );
}

#[tokio::test]
async fn access_logs_show_requests_but_never_tokens() {
    let app = TestApp::spawn().await;
    let event = app.seed_event(20).await;
    let redis = redis(&app.redis.url).await;
    let fan = admit(&redis, &app.redis.prefix, "fan-l", event, 600, 0).await;
    let gateway = Gateway::start(GatewayOptions::new(
        &[app.instance.address],
        &app.redis.url,
        &app.redis.prefix,
    ))
    .await;
    let http = reqwest::Client::new();

    let by_query = http
        .post(format!(
            "{}/sale/{event}/graphql?access_token={}",
            gateway.url, fan.token
        ))
        .json(&graphql(SALE_QUERY))
        .send()
        .await
        .expect("a response");
    let by_header = http
        .post(format!("{}/sale/{event}/graphql", gateway.url))
        .bearer_auth(&fan.token)
        .json(&graphql(SALE_QUERY))
        .send()
        .await
        .expect("a response");
    assert_eq!(by_query.status(), StatusCode::OK);
    assert_eq!(by_header.status(), StatusCode::OK);
    let (logs, _) = crate::support::eventually(Duration::from_secs(3), "access log", || async {
        let logs = gateway.logs();
        (logs.matches("proxied").count() >= 2).then_some(logs)
    })
    .await;

    assert!(logs.contains("access_token=REDACTED"), "{logs}");
    assert!(logs.contains(&fan.user), "{logs}");
    assert!(
        !logs.contains(&fan.token),
        "a token reached the logs:\n{logs}"
    );
}

#[tokio::test]
async fn bodies_over_the_limit_are_refused_with_payload_too_large() {
    let app = TestApp::spawn().await;
    let gateway = Gateway::start(
        GatewayOptions::new(&[app.instance.address], &app.redis.url, &app.redis.prefix)
            .set("max_body_bytes", "1024"),
    )
    .await;
    let padding = "x".repeat(2048);

    let response = reqwest::Client::new()
        .post(format!("{}/graphql", gateway.url))
        .json(&graphql(&format!("{{ events {{ id }} }} # {padding}")))
        .send()
        .await
        .expect("a response");

    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body: serde_json::Value = response.json().await.expect("JSON");
    assert_eq!(code_of(&body), "PAYLOAD_TOO_LARGE");
    assert!(
        app.instance
            .state
            .requests()
            .matching("/graphql")
            .is_empty()
    );
}

#[tokio::test]
async fn a_chunked_body_over_the_limit_is_cut_off_with_payload_too_large() {
    let app = TestApp::spawn().await;
    let gateway = Gateway::start(
        GatewayOptions::new(&[app.instance.address], &app.redis.url, &app.redis.prefix)
            .set("max_body_bytes", "1024"),
    )
    .await;
    let mut stream = TcpStream::connect(gateway.address).await.expect("connect");
    let chunk = "x".repeat(2048);

    stream
        .write_all(
            format!(
                "POST /graphql HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n\
                 transfer-encoding: chunked\r\n\r\n{:x}\r\n{chunk}\r\n0\r\n\r\n",
                chunk.len()
            )
            .as_bytes(),
        )
        .await
        .expect("writing");
    let mut answer = String::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_string(&mut answer))
        .await
        .expect("an answer within 5 s")
        .ok();

    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("PAYLOAD_TOO_LARGE"), "{answer}");
}

/// A connection that was served one request and stays open (kept alive).
async fn served_connection(address: std::net::SocketAddr) -> Option<TcpStream> {
    let mut stream = TcpStream::connect(address).await.ok()?;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .ok()?;
    let mut buffer = [0_u8; 512];
    let read = stream.read(&mut buffer).await.ok()?;
    buffer[..read]
        .starts_with(b"HTTP/1.1 200")
        .then_some(stream)
}

#[tokio::test]
async fn connections_over_the_cap_are_refused_with_gateway_busy() {
    let app = TestApp::spawn().await;
    let gateway = Gateway::start(
        GatewayOptions::new(&[app.instance.address], &app.redis.url, &app.redis.prefix)
            .set("max_connections", "2"),
    )
    .await;
    // Two kept-alive connections that were served hold the two places (a refused one
    // would have read a 503; the readiness probe's may take a moment to close).
    let mut held = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(3);
    while held.len() < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "could not hold two connections"
        );
        match served_connection(gateway.address).await {
            Some(stream) => held.push(stream),
            None => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }

    let mut third = TcpStream::connect(gateway.address).await.expect("connect");
    let mut answer = String::new();
    tokio::time::timeout(Duration::from_secs(5), third.read_to_string(&mut answer))
        .await
        .expect("an answer within 5 s")
        .ok();
    drop(held);
    let (status, _) =
        crate::support::eventually(Duration::from_secs(3), "a free place", || async {
            let response = reqwest::get(format!("{}/healthz", gateway.url))
                .await
                .ok()?;
            response.status().is_success().then_some(response.status())
        })
        .await;

    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("GATEWAY_BUSY"), "{answer}");
    assert!(answer.contains("retry-after: 1\r\n"), "{answer}");
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn a_client_that_sends_no_request_is_dropped_after_the_header_timeout() {
    let app = TestApp::spawn().await;
    let gateway = Gateway::start(
        GatewayOptions::new(&[app.instance.address], &app.redis.url, &app.redis.prefix)
            .set("header_timeout_secs", "1"),
    )
    .await;
    let mut stream = TcpStream::connect(gateway.address).await.expect("connect");
    stream
        .write_all(b"GET /graphql HT")
        .await
        .expect("a partial request");
    let started = std::time::Instant::now();

    let mut rest = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut rest)).await;

    assert!(closed.is_ok(), "the connection was still open after 5 s");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn sigterm_stops_the_gateway_within_its_grace_settings() {
    let app = TestApp::spawn().await;
    let mut gateway = Gateway::start(
        GatewayOptions::new(&[app.instance.address], &app.redis.url, &app.redis.prefix)
            .set("grace_period_secs", "0")
            .set("graceful_shutdown_timeout_secs", "1"),
    )
    .await;

    let took = gateway.terminate(Duration::from_secs(10)).await;

    assert!(took < Duration::from_secs(5), "{took:?}");
    assert!(
        gateway.logs().contains("gateway stopped"),
        "{}",
        gateway.logs()
    );
}
