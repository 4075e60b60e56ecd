//! Around the GraphQL routes: CORS preflights, and paths under the web client.

use graphql_api::testing::TestApp;
use serde_json::{Value, json};

#[tokio::test]
async fn cors_preflights_are_answered_for_allowed_origins_only() {
    let app = TestApp::spawn_with(|config| {
        config.cors_allowed_origins = vec!["https://app.example".into()];
    })
    .await;
    let closed = TestApp::spawn().await;
    let preflight = |base: String, origin: &'static str| {
        let http = reqwest::Client::new();
        async move {
            http.request(reqwest::Method::OPTIONS, format!("{base}/graphql"))
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
    };

    let allowed = preflight(app.base_url(), "https://app.example").await;
    let other = preflight(app.base_url(), "https://evil.example").await;
    let off = preflight(closed.base_url(), "https://app.example").await;
    let answer = app
        .http
        .post(format!("{}/graphql", app.base_url()))
        .header("origin", "https://app.example")
        .json(&json!({ "query": "{ events { id } }" }))
        .send()
        .await
        .expect("a response");

    let allow_origin = |response: &reqwest::Response| {
        response
            .headers()
            .get("access-control-allow-origin")
            .map(|value| value.to_str().unwrap_or_default().to_owned())
    };
    assert!(allowed.status().is_success(), "{}", allowed.status());
    assert_eq!(
        allow_origin(&allowed).as_deref(),
        Some("https://app.example")
    );
    let headers = allowed
        .headers()
        .get("access-control-allow-headers")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    assert!(
        headers.contains("authorization") && headers.contains("content-type"),
        "{headers}"
    );
    assert_eq!(allow_origin(&other), None);
    assert_eq!(allow_origin(&off), None);
    assert_eq!(
        allow_origin(&answer).as_deref(),
        Some("https://app.example")
    );
}

#[tokio::test]
async fn unknown_paths_under_the_client_are_json_404s_and_its_routes_its_page() {
    let dir = std::env::temp_dir().join(format!("client-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(dir.join("assets")).expect("a client folder");
    std::fs::write(
        dir.join("index.html"),
        "<!doctype html><title>Tickets</title>",
    )
    .expect("index");
    std::fs::write(dir.join("assets/app.js"), "console.log(1)").expect("asset");
    let app = TestApp::spawn_with(|config| config.client_dir = Some(dir.clone())).await;
    let get = |path: &'static str, accept: &'static str| {
        let http = reqwest::Client::new();
        let url = format!("{}{path}", app.base_url());
        async move {
            let response = http
                .get(url)
                .header("accept", accept)
                .send()
                .await
                .expect("a response");
            let status = response.status().as_u16();
            (status, response.text().await.unwrap_or_default())
        }
    };
    let html = "text/html,application/xhtml+xml";

    for path in ["/", "/e/demo/seats", "/bookings"] {
        let (status, body) = get(path, html).await;
        assert_eq!(status, 200, "{path}");
        assert!(body.contains("<title>Tickets"), "{path}: {body}");
    }
    assert_eq!(get("/assets/app.js", "*/*").await.0, 200);
    for (path, accept) in [
        ("/assets/missing.js", "*/*"),
        ("/graphql/extra", html),
        ("/api/v1/events", html),
        ("/nothing/here", "application/json"),
        ("/favicon.png", html),
    ] {
        let (status, body) = get(path, accept).await;
        assert_eq!(status, 404, "{path}: {body}");
        let body: Value = serde_json::from_str(&body).expect("a JSON 404");
        assert_eq!(body["error"]["code"], "NOT_FOUND", "{path}");
    }
    let _ = std::fs::remove_dir_all(dir);
}
