//! CORS for browser apps on other origins: the gateway answers preflights itself (they carry
//! no token), makes its own refusals readable to allowed origins, and leaves the API's
//! answers to the API's own CORS headers.

use std::time::Duration;

use graphql_api::testing::{TestApp, TestRedis};
use reqwest::{Method, Response, StatusCode, header::HeaderMap};
use serde_json::Value;
use tokio::{
    io::{AsyncReadExt as _, AsyncWriteExt as _},
    net::TcpStream,
};

use crate::{
    fakes::EchoUpstream,
    support::{Gateway, GatewayOptions, SALE_QUERY, admit, code_of, graphql, redis},
};

const APP: &str = "https://app.example";
const ALLOWED: &str = r#"["https://app.example"]"#;

/// The API on CORS for [`APP`] too, as in production: a preflight the gateway let through
/// would be answered (and logged) there instead of vanishing.
async fn api_with_cors() -> TestApp {
    TestApp::spawn_with(|config| config.cors_allowed_origins = vec![APP.into()]).await
}

async fn gateway_with_cors(app: &TestApp) -> Gateway {
    Gateway::start(
        GatewayOptions::new(&[app.instance.address], &app.redis.url, &app.redis.prefix)
            .set("cors_allowed_origins", ALLOWED),
    )
    .await
}

/// A browser's preflight before a tokened JSON POST from `origin`.
async fn preflight(gateway: &Gateway, path: &str, origin: &str) -> Response {
    reqwest::Client::new()
        .request(Method::OPTIONS, format!("{}{path}", gateway.url))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization, content-type",
        )
        .send()
        .await
        .expect("a response")
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

fn allow_headers(headers: &HeaderMap) -> Vec<String> {
    headers
        .keys()
        .map(|name| name.as_str().to_owned())
        .filter(|name| name.starts_with("access-control-allow-"))
        .collect()
}

#[tokio::test]
async fn a_preflight_from_an_allowed_origin_is_answered_by_the_gateway_without_a_token() {
    let app = api_with_cors().await;
    let event = app.seed_event(20).await;
    let gateway = gateway_with_cors(&app).await;

    let sale = preflight(&gateway, &format!("/sale/{event}/graphql"), APP).await;
    let public = preflight(&gateway, "/graphql", APP).await;
    let bad_sale = preflight(&gateway, "/sale/not-an-event/graphql", APP).await;

    assert_eq!(sale.status(), StatusCode::NO_CONTENT);
    let headers = sale.headers();
    assert_eq!(header(headers, "access-control-allow-origin"), Some(APP));
    assert_eq!(
        header(headers, "access-control-allow-methods"),
        Some("GET, POST")
    );
    assert_eq!(
        header(headers, "access-control-allow-headers"),
        Some("authorization, content-type, accept")
    );
    assert_eq!(header(headers, "access-control-max-age"), Some("600"));
    assert_eq!(header(headers, "vary"), Some("Origin"));
    for other in [&public, &bad_sale] {
        assert_eq!(other.status(), StatusCode::NO_CONTENT, "{}", other.url());
        assert_eq!(
            header(other.headers(), "access-control-allow-origin"),
            Some(APP),
            "{}",
            other.url()
        );
    }
    for path in ["/sale", "/graphql"] {
        let reached = app.instance.state.requests().matching(path);
        assert!(
            reached.is_empty(),
            "a preflight reached the API: {reached:?}"
        );
    }
    gateway
        .wait_for_metric(
            "gateway_requests_total{outcome=\"preflight\",route=\"sale\"} 2",
            Duration::from_secs(3),
        )
        .await;
    gateway
        .wait_for_metric(
            "gateway_requests_total{outcome=\"preflight\",route=\"public\"} 1",
            Duration::from_secs(3),
        )
        .await;
}

#[tokio::test]
async fn a_preflight_from_another_origin_gets_no_allow_headers() {
    let app = api_with_cors().await;
    let event = app.seed_event(20).await;
    let gateway = gateway_with_cors(&app).await;

    let response = preflight(
        &gateway,
        &format!("/sale/{event}/graphql"),
        "https://evil.example",
    )
    .await;

    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(
        allow_headers(response.headers()).is_empty(),
        "{:?}",
        response.headers()
    );
    assert!(app.instance.state.requests().matching("/sale").is_empty());
}

#[tokio::test]
async fn a_tokenless_post_from_an_allowed_origin_gets_a_refusal_the_app_can_read() {
    let app = api_with_cors().await;
    let event = app.seed_event(20).await;
    let gateway = gateway_with_cors(&app).await;
    let post = |origin: &'static str| {
        reqwest::Client::new()
            .post(format!("{}/sale/{event}/graphql", gateway.url))
            .header("origin", origin)
            .json(&graphql(SALE_QUERY))
            .send()
    };

    let allowed = post(APP).await.expect("a response");
    let other = post("https://evil.example").await.expect("a response");

    assert_eq!(allowed.status(), StatusCode::UNAUTHORIZED);
    let headers = allowed.headers().clone();
    assert_eq!(header(&headers, "access-control-allow-origin"), Some(APP));
    assert_eq!(
        header(&headers, "access-control-expose-headers"),
        Some("retry-after")
    );
    assert_eq!(header(&headers, "vary"), Some("Origin"));
    let body: Value = allowed.json().await.expect("a JSON refusal");
    assert_eq!(code_of(&body), "QUEUE_TOKEN_REQUIRED", "{body}");
    assert_eq!(other.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(header(other.headers(), "access-control-allow-origin"), None);
    assert!(app.instance.state.requests().matching("/sale").is_empty());
}

#[tokio::test]
async fn preflights_count_against_the_per_ip_rate_limit() {
    let app = api_with_cors().await;
    let event = app.seed_event(20).await;
    let gateway = Gateway::start(
        GatewayOptions::new(&[app.instance.address], &app.redis.url, &app.redis.prefix)
            .set("cors_allowed_origins", ALLOWED)
            .set("public_rate_per_sec", "1")
            .set("public_burst", "2"),
    )
    .await;
    let path = format!("/sale/{event}/graphql");

    let mut statuses = Vec::new();
    for _ in 0..2 {
        statuses.push(preflight(&gateway, &path, APP).await.status());
    }
    let limited = preflight(&gateway, &path, APP).await;

    assert_eq!(statuses, [StatusCode::NO_CONTENT, StatusCode::NO_CONTENT]);
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    let headers = limited.headers().clone();
    assert_eq!(header(&headers, "access-control-allow-origin"), Some(APP));
    assert!(header(&headers, "retry-after").is_some(), "{headers:?}");
    let body: Value = limited.json().await.expect("a JSON refusal");
    assert_eq!(code_of(&body), "RATE_LIMITED", "{body}");
}

/// Reads one response head (a 204 has no body) from a kept-alive connection.
async fn read_head(stream: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0_u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut byte))
            .await
            .expect("an answer within 5 s")
            .expect("reading");
        assert_eq!(read, 1, "closed after {:?}", String::from_utf8_lossy(&head));
        head.push(byte[0]);
    }
    String::from_utf8(head).expect("a text head")
}

#[tokio::test]
async fn with_cors_off_preflights_are_answered_bare_and_keep_the_connection() {
    let app = api_with_cors().await;
    let event = app.seed_event(20).await;
    // The default: no origin allowed at the gateway, whatever the API allows.
    let gateway = Gateway::start(GatewayOptions::new(
        &[app.instance.address],
        &app.redis.url,
        &app.redis.prefix,
    ))
    .await;
    // A raw socket, to see both answers arrive on one connection.
    let mut stream = TcpStream::connect(gateway.address).await.expect("connect");
    let request = format!(
        "OPTIONS /sale/{event}/graphql HTTP/1.1\r\nhost: x\r\norigin: {APP}\r\n\
         access-control-request-method: POST\r\n\r\n"
    );

    let mut heads = Vec::new();
    for _ in 0..2 {
        stream.write_all(request.as_bytes()).await.expect("writing");
        heads.push(read_head(&mut stream).await);
    }

    for head in &heads {
        assert!(head.starts_with("HTTP/1.1 204"), "{head}");
        assert!(
            !head.to_ascii_lowercase().contains("access-control-allow"),
            "{head}"
        );
    }
    assert!(app.instance.state.requests().matching("/sale").is_empty());
}

#[tokio::test]
async fn an_admitted_post_carries_the_apis_cors_headers_once() {
    let app = api_with_cors().await;
    let event = app.seed_event(20).await;
    let redis = redis(&app.redis.url).await;
    let fan = admit(&redis, &app.redis.prefix, "fan-cors", event, 600, 0).await;
    let gateway = gateway_with_cors(&app).await;

    let response = reqwest::Client::new()
        .post(format!("{}/sale/{event}/graphql", gateway.url))
        .header("origin", APP)
        .bearer_auth(&fan.token)
        .json(&graphql(SALE_QUERY))
        .send()
        .await
        .expect("a response");

    assert_eq!(response.status(), StatusCode::OK);
    let origins: Vec<_> = response
        .headers()
        .get_all("access-control-allow-origin")
        .iter()
        .collect();
    assert_eq!(origins, [APP], "{:?}", response.headers());
    let body: Value = response.json().await.expect("JSON");
    assert!(body["data"]["seatCategories"].is_array(), "{body}");
    assert_eq!(
        app.instance
            .state
            .requests()
            .matching(&format!("/sale/{event}"))
            .len(),
        1
    );
}

#[tokio::test]
async fn the_gateway_adds_no_cors_header_to_what_it_proxies() {
    // An upstream that answers no CORS at all: whatever CORS header came back would be ours.
    let upstream = EchoUpstream::start().await;
    let redis = TestRedis::new();
    let gateway = Gateway::start(
        GatewayOptions::new(&[upstream.address], &redis.url, &redis.prefix)
            .set("cors_allowed_origins", ALLOWED),
    )
    .await;

    let response = reqwest::Client::new()
        .post(format!("{}/graphql", gateway.url))
        .header("origin", APP)
        .json(&graphql("{ events { id } }"))
        .send()
        .await
        .expect("a response");

    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers().clone();
    assert!(
        !headers
            .keys()
            .any(|name| name.as_str().starts_with("access-control-")),
        "{headers:?}"
    );
    let echoed: Value = response.json().await.expect("the echo");
    // The API needs the Origin to answer CORS itself.
    assert_eq!(echoed["headers"]["origin"], APP, "{echoed}");
}
