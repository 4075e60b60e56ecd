//! Liveness and readiness.

use graphql_api::testing::TestApp;

#[tokio::test]
async fn healthz_answers_ok_while_the_process_lives() {
    let app = TestApp::spawn().await;

    let response = reqwest::get(format!("{}/healthz", app.base_url()))
        .await
        .expect("request");

    assert_eq!(response.status().as_u16(), 200);
    let body: serde_json::Value = response.json().await.expect("json");
    assert_eq!(body["status"], "ok");
}

#[tokio::test]
async fn readyz_is_ready_when_postgres_and_redis_answer() {
    let app = TestApp::spawn().await;

    let response = reqwest::get(format!("{}/readyz", app.base_url()))
        .await
        .expect("request");

    assert_eq!(response.status().as_u16(), 200);
    let body: serde_json::Value = response.json().await.expect("json");
    assert_eq!(body["postgres"], "ok");
    assert_eq!(body["redis"], "ok");
}

#[tokio::test]
async fn readyz_names_redis_when_it_is_unreachable_but_the_api_still_starts() {
    // Port 1 on loopback: nothing listens there.
    let app = TestApp::spawn_with(|config| {
        config.redis_url = "redis://127.0.0.1:1/0".to_owned().into();
        config.redis_command_timeout_ms = 200;
    })
    .await;

    let ready = reqwest::get(format!("{}/readyz", app.base_url()))
        .await
        .expect("request");
    let alive = reqwest::get(format!("{}/healthz", app.base_url()))
        .await
        .expect("request");

    assert_eq!(ready.status().as_u16(), 503);
    let body: serde_json::Value = ready.json().await.expect("json");
    assert_eq!(body["redis"], "unreachable");
    assert_eq!(body["postgres"], "ok");
    assert_eq!(alive.status().as_u16(), 200);
}

#[tokio::test]
async fn a_stopped_instance_finishes_and_releases_its_port() {
    let app = TestApp::spawn().await;
    let second = app.spawn_instance(|_| {}).await;
    let address = second.address;

    second.stop().await;

    let refused = reqwest::get(format!("http://{address}/healthz")).await;
    assert!(refused.is_err(), "a stopped instance must not answer");
    let still_up = reqwest::get(format!("{}/healthz", app.base_url()))
        .await
        .expect("first instance");
    assert_eq!(still_up.status().as_u16(), 200);
}

#[tokio::test]
async fn an_instance_started_while_redis_is_away_recovers_when_it_returns() {
    let first = graphql_api::testing::TestRedisServer::standalone().await;
    let port = first.ports[0];
    let url = first.url();
    drop(first);
    let app = TestApp::spawn_with(|config| {
        config.redis_url = url.into();
        config.redis_command_timeout_ms = 300;
    })
    .await;
    let readyz = format!("{}/readyz", app.base_url());
    assert_eq!(
        reqwest::get(&readyz)
            .await
            .expect("request")
            .status()
            .as_u16(),
        503
    );

    let _back = graphql_api::testing::TestRedisServer::standalone_on(port).await;

    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let status = reqwest::get(&readyz)
            .await
            .expect("request")
            .status()
            .as_u16();
        if status == 200 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the instance never reconnected to Redis"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}
