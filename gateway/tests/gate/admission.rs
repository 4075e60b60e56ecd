//! The gate on sale routes: who passes, who is refused with which code, and that refused
//! requests never reach the API.

use std::time::Duration;

use graphql_api::testing::TestApp;
use reqwest::StatusCode;
use serde_json::Value;

use crate::{
    fakes::EchoUpstream,
    support::{
        Gateway, GatewayOptions, SALE_QUERY, admit, code_of, eventually, free_port, graphql, redis,
        revoke,
    },
};

async fn gateway_for(app: &TestApp) -> Gateway {
    Gateway::start(GatewayOptions::new(
        &[app.instance.address],
        &app.redis.url,
        &app.redis.prefix,
    ))
    .await
}

/// POSTs the sale query to an event's sale route, with a bearer token where given.
pub(crate) async fn sale_post(
    gateway: &Gateway,
    event: i64,
    token: Option<&str>,
) -> (StatusCode, Value) {
    let mut request = reqwest::Client::new()
        .post(format!("{}/sale/{event}/graphql", gateway.url))
        .json(&graphql(SALE_QUERY));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("a response");
    let status = response.status();
    (status, response.json().await.expect("a JSON body"))
}

#[tokio::test]
async fn an_admitted_fan_reaches_the_sale_schema_through_the_gateway() {
    let app = TestApp::spawn().await;
    let event = app.seed_event(20).await;
    let redis = redis(&app.redis.url).await;
    let fan = admit(&redis, &app.redis.prefix, "fan-1", event, 600, 0).await;
    let gateway = gateway_for(&app).await;

    let (status, body) = sale_post(&gateway, event, Some(&fan.token)).await;

    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["data"]["seatCategories"].is_array(), "{body}");
    let reached = app
        .instance
        .state
        .requests()
        .matching(&format!("/sale/{event}"));
    assert_eq!(reached.len(), 1, "{reached:?}");
}

#[tokio::test]
async fn refused_tokens_get_their_code_and_never_reach_the_api() {
    let app = TestApp::spawn().await;
    let event = app.seed_event(20).await;
    let other_event = app.seed_event(5).await;
    let redis = redis(&app.redis.url).await;
    let prefix = &app.redis.prefix;
    let forged = tokens::Keyring::parse("dev:not-the-gateway-secret-99")
        .expect("forger keyring")
        .sign(&tokens::AdmissionClaims::new(
            "fan-f",
            event,
            "forged",
            crate::support::now(),
            600,
            4,
        ));
    let expired = admit(&redis, prefix, "fan-e", event, 60, 120).await;
    let elsewhere = admit(&redis, prefix, "fan-w", other_event, 600, 0).await;
    let revoked = admit(&redis, prefix, "fan-r", event, 600, 0).await;
    revoke(&redis, prefix, event, &revoked.jti).await;
    let gateway = gateway_for(&app).await;

    let cases = [
        (None, StatusCode::UNAUTHORIZED, "QUEUE_TOKEN_REQUIRED"),
        (
            Some(forged.as_str()),
            StatusCode::UNAUTHORIZED,
            "TOKEN_INVALID",
        ),
        (Some("not-a-jwt"), StatusCode::UNAUTHORIZED, "TOKEN_INVALID"),
        (
            Some(expired.token.as_str()),
            StatusCode::UNAUTHORIZED,
            "TOKEN_EXPIRED",
        ),
        (
            Some(elsewhere.token.as_str()),
            StatusCode::FORBIDDEN,
            "WRONG_EVENT",
        ),
        (
            Some(revoked.token.as_str()),
            StatusCode::UNAUTHORIZED,
            "TOKEN_REVOKED",
        ),
    ];
    for (token, expected_status, expected_code) in cases {
        let (status, body) = sale_post(&gateway, event, token).await;

        assert_eq!(status, expected_status, "{expected_code}: {body}");
        assert_eq!(code_of(&body), expected_code, "{body}");
        assert_eq!(body["error"]["queue"], "/graphql", "{body}");
        assert_eq!(body["error"]["eventId"], event, "{body}");
        assert!(body["error"]["message"].is_string(), "{body}");
    }
    assert!(
        app.instance.state.requests().matching("/sale").is_empty(),
        "refused requests reached the API: {:?}",
        app.instance.state.requests().matching("/sale")
    );
}

#[tokio::test]
async fn a_sale_path_without_an_event_id_is_refused_by_the_gateway() {
    let app = TestApp::spawn().await;
    let gateway = gateway_for(&app).await;

    let response = reqwest::Client::new()
        .post(format!("{}/sale/abc/graphql", gateway.url))
        .json(&graphql(SALE_QUERY))
        .send()
        .await
        .expect("a response");

    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(app.instance.state.requests().matching("/sale").is_empty());
}

#[tokio::test]
async fn tokens_are_taken_from_the_cookie_and_the_query_parameter() {
    let app = TestApp::spawn().await;
    let event = app.seed_event(20).await;
    let redis = redis(&app.redis.url).await;
    let fan = admit(&redis, &app.redis.prefix, "fan-c", event, 600, 0).await;
    let gateway = gateway_for(&app).await;
    let http = reqwest::Client::new();
    let url = format!("{}/sale/{event}/graphql", gateway.url);

    let by_cookie = http
        .post(&url)
        .header(
            "cookie",
            format!("theme=dark; admission_token={}", fan.token),
        )
        .json(&graphql(SALE_QUERY))
        .send()
        .await
        .expect("a response");
    let by_query = http
        .post(format!("{url}?access_token={}", fan.token))
        .json(&graphql(SALE_QUERY))
        .send()
        .await
        .expect("a response");

    assert_eq!(by_cookie.status(), StatusCode::OK);
    assert_eq!(by_query.status(), StatusCode::OK);
    assert_eq!(
        app.instance
            .state
            .requests()
            .matching(&format!("/sale/{event}"))
            .len(),
        2
    );
}

#[tokio::test]
async fn a_revoked_token_stops_passing_within_the_cache_ttl() {
    let app = TestApp::spawn().await;
    let event = app.seed_event(20).await;
    let redis = redis(&app.redis.url).await;
    let fan = admit(&redis, &app.redis.prefix, "fan-v", event, 600, 0).await;
    let gateway = gateway_for(&app).await;
    let (status, _) = sale_post(&gateway, event, Some(&fan.token)).await;
    assert_eq!(status, StatusCode::OK);

    revoke(&redis, &app.redis.prefix, event, &fan.jti).await;
    let (code, took) = eventually(Duration::from_secs(3), "revocation seen", || async {
        let (status, body) = sale_post(&gateway, event, Some(&fan.token)).await;
        (status == StatusCode::UNAUTHORIZED).then(|| code_of(&body).to_owned())
    })
    .await;

    assert_eq!(code, "TOKEN_REVOKED");
    // The cache trusts a record for 1 s; allow scheduling slack on a busy 2-core box (CI runs every crate's tests at once).
    assert!(took < Duration::from_secs(2), "took {took:?}");
}

#[tokio::test]
async fn an_event_whose_gate_is_off_passes_without_a_token() {
    let app = TestApp::spawn().await;
    let event = app.seed_event(20).await;
    // Switched off the way an operator does it: the API's admin mutation (database and
    // the Redis switch the gateway reads).
    let admin = app.access_token(uuid::Uuid::new_v4(), "ADMIN");
    let switched = app
        .public_as(
            &admin,
            "mutation($e: ID!) { setEventGate(eventId: $e, enabled: false) { id } }",
            serde_json::json!({ "e": event.to_string() }),
        )
        .await;
    assert!(switched["errors"].is_null(), "{switched}");
    let gateway = gateway_for(&app).await;

    let (status, body) = sale_post(&gateway, event, None).await;

    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["data"]["seatCategories"].is_array(), "{body}");
}

#[tokio::test]
async fn sale_routes_fail_closed_with_gate_unavailable_while_redis_is_unreachable() {
    let app = TestApp::spawn().await;
    let event = app.seed_event(20).await;
    let redis_client = redis(&app.redis.url).await;
    let fan = admit(&redis_client, &app.redis.prefix, "fan-d", event, 600, 0).await;
    // Nothing listens there: the gateway's Redis is down from the start.
    let dead_redis = format!("redis://127.0.0.1:{}/0", free_port());
    let gateway = Gateway::start(GatewayOptions::new(
        &[app.instance.address],
        &dead_redis,
        &app.redis.prefix,
    ))
    .await;

    let (status, body) = sale_post(&gateway, event, Some(&fan.token)).await;
    let public = reqwest::Client::new()
        .post(format!("{}/graphql", gateway.url))
        .json(&graphql("{ events { id } }"))
        .send()
        .await
        .expect("a response");

    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(code_of(&body), "GATE_UNAVAILABLE");
    assert!(app.instance.state.requests().matching("/sale").is_empty());
    assert_eq!(
        public.status(),
        StatusCode::OK,
        "public routes need no Redis"
    );
}

#[tokio::test]
async fn identity_headers_sent_by_clients_are_replaced_by_the_gateways_own() {
    let app = TestApp::spawn().await;
    let upstream = EchoUpstream::start().await;
    let redis = redis(&app.redis.url).await;
    let fan = admit(&redis, &app.redis.prefix, "fan-real", 7, 600, 0).await;
    let gateway = Gateway::start(GatewayOptions::new(
        &[upstream.address],
        &app.redis.url,
        &app.redis.prefix,
    ))
    .await;
    let http = reqwest::Client::new();

    let public: Value = http
        .post(format!("{}/graphql", gateway.url))
        .header("x-fan-id", "fan-forged")
        .header("x-admission-event", "7")
        .header("x-admission-id", "forged")
        .json(&graphql("{ events { id } }"))
        .send()
        .await
        .expect("a response")
        .json()
        .await
        .expect("echo JSON");
    let sale: Value = http
        .post(format!("{}/sale/7/graphql", gateway.url))
        .bearer_auth(&fan.token)
        .header("x-fan-id", "fan-forged")
        .json(&graphql(SALE_QUERY))
        .send()
        .await
        .expect("a response")
        .json()
        .await
        .expect("echo JSON");

    for header in tokens::headers::ALL {
        assert!(
            public["headers"].get(*header).is_none(),
            "{header}: {public}"
        );
    }
    assert_eq!(sale["headers"]["x-fan-id"], fan.user.as_str(), "{sale}");
    assert_eq!(sale["headers"]["x-admission-event"], "7", "{sale}");
    assert_eq!(
        sale["headers"]["x-admission-id"],
        fan.jti.as_str(),
        "{sale}"
    );
    assert_eq!(sale["headers"]["x-forwarded-for"], "127.0.0.1", "{sale}");
}

#[tokio::test]
async fn a_refused_post_leaves_the_client_connection_open_for_the_next_request() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    let app = TestApp::spawn().await;
    let gateway = gateway_for(&app).await;
    let mut stream = tokio::net::TcpStream::connect(gateway.address)
        .await
        .expect("connect");
    let body = r#"{"query":"{ seatCategories { name } }"}"#;
    let request = format!(
        "POST /sale/1/graphql HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n\
         content-length: {}\r\n\r\n{body}",
        body.len()
    );

    let mut answers = Vec::new();
    for _ in 0..2 {
        stream.write_all(request.as_bytes()).await.expect("writing");
        let mut buffer = vec![0_u8; 4096];
        let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buffer))
            .await
            .expect("an answer within 5 s")
            .expect("reading");
        answers.push(String::from_utf8_lossy(&buffer[..read]).to_lowercase());
    }

    for answer in &answers {
        assert!(answer.starts_with("http/1.1 401"), "{answer}");
        assert!(answer.contains("connection: keep-alive"), "{answer}");
    }
}

#[tokio::test]
async fn a_gateway_started_while_redis_is_away_lets_fans_in_once_it_returns() {
    let app = TestApp::spawn().await;
    let event = app.seed_event(20).await;
    let api_redis = redis(&app.redis.url).await;
    let fan = admit(&api_redis, &app.redis.prefix, "fan-r", event, 600, 0).await;
    // The gateway gets a Redis of its own that is down when it starts.
    let first = graphql_api::testing::TestRedisServer::standalone().await;
    let (port, gate_redis_url) = (first.ports[0], first.url());
    drop(first);
    let gateway = Gateway::start(GatewayOptions::new(
        &[app.instance.address],
        &gate_redis_url,
        &app.redis.prefix,
    ))
    .await;
    let (down, _) = sale_post(&gateway, event, Some(&fan.token)).await;

    let _back = graphql_api::testing::TestRedisServer::standalone_on(port).await;
    let gate_redis = redis(&gate_redis_url).await;
    let _: () = fred::prelude::KeysInterface::set(
        &gate_redis,
        tokens::store::Keys::new(app.redis.prefix.as_str()).admission(event, &fan.jti),
        fan.user.as_str(),
        None,
        None,
        false,
    )
    .await
    .expect("writing the record where the gateway looks");
    let (status, _) = eventually(
        Duration::from_secs(15),
        "the gateway reconnecting to Redis",
        || async {
            let (status, body) = sale_post(&gateway, event, Some(&fan.token)).await;
            (status == StatusCode::OK).then_some((status, body))
        },
    )
    .await
    .0;

    assert_eq!(down, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(status, StatusCode::OK);
}
