//! Hostile and mistaken requests: each gets its documented code and status, over HTTP and
//! WebSocket, on both schemas; none aborts the process or changes anything.

use graphql_api::testing::{TestApp, first_error_code};
use serde_json::{Value, json};

use crate::{
    sale_support::{admitted, key, scalar, seat_ids},
    ws_client::WsClient,
};

/// `{ event(id: [[[...1...]]]) { id } }`, nested `levels` deep.
fn deep_list(levels: usize) -> String {
    format!(
        "{{ event(id: {}1{}) {{ id }} }}",
        "[".repeat(levels),
        "]".repeat(levels)
    )
}

/// The status and body of a POST of `body` to `path`.
async fn post(app: &TestApp, path: &str, token: Option<&str>, body: Value) -> (u16, Value) {
    app.post_json_as(token, path, &body).await
}

/// The payload of the first message answering one operation over a fresh WebSocket.
async fn over_ws(url: &str, query: &str, variables: Value) -> Value {
    let mut client = WsClient::connect(url, json!({})).await;
    client.subscribe("1", query, variables).await;
    client.next_payload("1").await["payload"].clone()
}

fn public_ws(app: &TestApp) -> String {
    format!("ws://{}/graphql", app.instance.address)
}

fn sale_ws(app: &TestApp, event: i64, token: &str) -> String {
    format!(
        "ws://{}/sale/{event}/graphql?access_token={token}",
        app.instance.address
    )
}

async fn alive(app: &TestApp) {
    let health = reqwest::get(format!("{}/healthz", app.base_url()))
        .await
        .expect("the API still answers");
    assert_eq!(health.status().as_u16(), 200);
}

#[tokio::test]
async fn values_nested_thousands_deep_are_refused_on_both_schemas_and_transports() {
    let app = TestApp::spawn().await;
    let event = app.seed_event(10).await;
    let fan = admitted(&app, event).await;
    let sale_path = format!("/sale/{event}/graphql");
    let object = format!(
        "{{ seats(section: {}\"x\"{}) {{ edges {{ cursor }} }} }}",
        "{a: ".repeat(4_000),
        "}".repeat(4_000)
    );

    let (status, public) = post(&app, "/graphql", None, json!({ "query": deep_list(5_000) })).await;
    let (sale_status, sale) = post(
        &app,
        &sale_path,
        Some(&fan.token),
        json!({ "query": object }),
    )
    .await;
    let public_socket = over_ws(&public_ws(&app), &deep_list(5_000), json!({})).await;
    let sale_socket = over_ws(
        &sale_ws(&app, event, &fan.token),
        &deep_list(5_000),
        json!({}),
    )
    .await;

    assert_eq!(
        (status, first_error_code(&public)),
        (400, Some("QUERY_TOO_DEEP")),
        "{public}"
    );
    assert_eq!(
        (sale_status, first_error_code(&sale)),
        (400, Some("QUERY_TOO_DEEP")),
        "{sale}"
    );
    assert_eq!(
        first_error_code(&public_socket),
        Some("QUERY_TOO_DEEP"),
        "{public_socket}"
    );
    assert_eq!(
        first_error_code(&sale_socket),
        Some("QUERY_TOO_DEEP"),
        "{sale_socket}"
    );
    alive(&app).await;
}

#[tokio::test]
async fn variables_nested_deep_are_bad_user_input_and_json_past_the_parser_limit_is_bad_request() {
    let app = TestApp::spawn().await;
    let mut nested = json!("1");
    for _ in 0..60 {
        nested = json!([nested]);
    }
    let query = "query($id: ID!) { event(id: $id) { id } }";
    let too_deep_json = format!(
        "{{\"query\": \"{{ events {{ id }} }}\", \"variables\": {{\"x\": {}1{}}}}}",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );

    let (status, body) = post(
        &app,
        "/graphql",
        None,
        json!({ "query": query, "variables": { "id": nested } }),
    )
    .await;
    let socket = over_ws(&public_ws(&app), query, json!({ "id": nested })).await;
    let raw = app
        .http
        .post(format!("{}/graphql", app.base_url()))
        .header("content-type", "application/json")
        .body(too_deep_json)
        .send()
        .await
        .expect("a response");

    assert_eq!(
        (status, first_error_code(&body)),
        (400, Some("BAD_USER_INPUT")),
        "{body}"
    );
    assert_eq!(
        first_error_code(&socket),
        Some("BAD_USER_INPUT"),
        "{socket}"
    );
    assert_eq!(raw.status().as_u16(), 400);
    alive(&app).await;
}

#[tokio::test]
async fn fragments_that_multiply_are_refused_at_once() {
    let app = TestApp::spawn().await;
    let mut query = String::from("{ ...F0 }\n");
    for level in 0..11 {
        let spreads = format!("...F{} ", level + 1).repeat(8);
        query.push_str(&format!(
            "fragment F{level} on PublicQuery {{ events {{ id }} {spreads} }}\n"
        ));
    }
    query.push_str("fragment F11 on PublicQuery { events { id } }\n");

    let started = std::time::Instant::now();
    let (status, body) = post(&app, "/graphql", None, json!({ "query": query })).await;

    assert_eq!(
        (status, first_error_code(&body)),
        (400, Some("QUERY_TOO_COMPLEX")),
        "{body}"
    );
    // Not a timing assertion on the machine's speed: unrefused, this takes hours.
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
}

#[tokio::test]
async fn nul_characters_are_bad_user_input_and_create_nothing() {
    let app = TestApp::spawn().await;
    let register = "mutation($input: RegisterInput!) { register(input: $input) { accessToken } }";
    let users_before = count(&app, "SELECT count(*) FROM users").await;

    let slug = app
        .public(r#"{ eventBySlug(slug: "demo\u0000") { id } }"#, json!({}))
        .await;
    let slug_variable = app
        .public(
            "query($s: String!) { eventBySlug(slug: $s) { id } }",
            json!({ "s": "demo\u{0}" }),
        )
        .await;
    let email = app
        .public(
            register,
            json!({ "input": { "email": "a\u{0}@fans.test", "password": "correct horse battery", "displayName": "A" } }),
        )
        .await;
    let name = app
        .public(
            register,
            json!({ "input": { "email": "b@fans.test", "password": "correct horse battery", "displayName": "B\u{0}" } }),
        )
        .await;
    let socket = over_ws(
        &public_ws(&app),
        "query($s: String!) { eventBySlug(slug: $s) { id } }",
        json!({ "s": "x\u{0}" }),
    )
    .await;

    for body in [&slug, &slug_variable, &email, &name, &socket] {
        assert_eq!(first_error_code(body), Some("BAD_USER_INPUT"), "{body}");
    }
    assert_eq!(
        count(&app, "SELECT count(*) FROM users").await,
        users_before
    );
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    scalar(&app.db.connection, sql).await
}

#[tokio::test]
async fn operations_that_cannot_be_chosen_or_run_over_http_get_their_codes() {
    let app = TestApp::spawn().await;
    let two = "query A { events { id } } query B { events { name } }";
    let subscription = "subscription { queuePosition(eventId: 1) { position } }";

    let unnamed = post(&app, "/graphql", None, json!({ "query": two })).await;
    let unknown = post(
        &app,
        "/graphql",
        None,
        json!({ "query": two, "operationName": "C" }),
    )
    .await;
    let named = post(
        &app,
        "/graphql",
        None,
        json!({ "query": two, "operationName": "B" }),
    )
    .await;
    let streamed = post(&app, "/graphql", None, json!({ "query": subscription })).await;
    let unknown_over_ws = {
        let mut client = WsClient::connect(&public_ws(&app), json!({})).await;
        client
            .send(json!({ "id": "1", "type": "subscribe", "payload": { "query": two, "operationName": "C" } }))
            .await;
        client.next_payload("1").await["payload"].clone()
    };

    assert_eq!(
        (unnamed.0, first_error_code(&unnamed.1)),
        (400, Some("OPERATION_NAME_REQUIRED")),
        "{:?}",
        unnamed.1
    );
    assert_eq!(
        (unknown.0, first_error_code(&unknown.1)),
        (400, Some("UNKNOWN_OPERATION")),
        "{:?}",
        unknown.1
    );
    assert_eq!(named.0, 200, "{:?}", named.1);
    assert!(named.1["data"]["events"].is_array(), "{:?}", named.1);
    assert_eq!(
        (streamed.0, first_error_code(&streamed.1)),
        (400, Some("SUBSCRIPTION_OVER_HTTP")),
        "{:?}",
        streamed.1
    );
    assert_eq!(
        first_error_code(&unknown_over_ws),
        Some("UNKNOWN_OPERATION"),
        "{unknown_over_ws}"
    );
}

#[tokio::test]
async fn aliased_logins_are_refused_before_any_password_is_hashed() {
    let app = TestApp::spawn().await;
    let logins: Vec<String> = (0..20)
        .map(|i| {
            format!(
                "l{i}: login(email: \"fan{i}@fans.test\", password: \"guess\") {{ accessToken }}"
            )
        })
        .collect();
    let query = format!("mutation {{ {} }}", logins.join(" "));
    let writes: Vec<String> = (0..6)
        .map(|i| format!("j{i}: leaveQueue(eventId: \"1\")"))
        .collect();
    let many_writes = format!("mutation {{ {} }}", writes.join(" "));

    let started = std::time::Instant::now();
    let (status, body) = post(&app, "/graphql", None, json!({ "query": query })).await;
    let elapsed = started.elapsed();
    let (writes_status, writes_body) =
        post(&app, "/graphql", None, json!({ "query": many_writes })).await;

    assert_eq!(
        (status, first_error_code(&body)),
        (400, Some("TOO_MANY_EXPENSIVE_FIELDS")),
        "{body}"
    );
    assert_eq!(body["errors"][0]["extensions"]["field"], "login");
    assert_eq!(body["errors"][0]["extensions"]["max"], 1);
    assert!(body.get("data").is_none_or(Value::is_null), "{body}");
    // Twenty argon2 hashes take seconds; a refusal before them takes milliseconds. The bound
    // is loose on purpose (a shared, noisy machine): only the hashes could reach it.
    assert!(elapsed < std::time::Duration::from_secs(5), "{elapsed:?}");
    assert_eq!(
        (writes_status, first_error_code(&writes_body)),
        (400, Some("TOO_MANY_EXPENSIVE_FIELDS")),
        "{writes_body}"
    );
}

#[tokio::test]
async fn the_statuses_of_refused_requests_are_the_documented_ones() {
    let app = TestApp::spawn().await;
    let event = app.seed_event(10).await;
    let fan = admitted(&app, event).await;
    let sale_path = format!("/sale/{event}/graphql");
    let mut deep = String::from("name");
    for _ in 0..18 {
        deep = format!("ofType {{ {deep} }}");
    }
    let deep = format!("{{ __schema {{ types {{ fields {{ type {{ {deep} }} }} }} }} }}");
    let selections = format!("{}{}", "{ a ".repeat(60), "}".repeat(60));

    let cases: Vec<(&str, Option<&str>, Value, &str)> = vec![
        (
            "/graphql",
            None,
            json!({ "query": "{ events { name " }),
            "GRAPHQL_PARSE_FAILED",
        ),
        (
            "/graphql",
            None,
            json!({ "query": "{ tickets }" }),
            "GRAPHQL_VALIDATION_FAILED",
        ),
        (
            &sale_path,
            Some(&fan.token),
            json!({ "query": "{ seats(status: GONE) { edges { cursor } } }" }),
            "GRAPHQL_VALIDATION_FAILED",
        ),
        ("/graphql", None, json!({ "query": deep }), "QUERY_TOO_DEEP"),
        (
            "/graphql",
            None,
            json!({ "query": selections }),
            "QUERY_TOO_DEEP",
        ),
        ("/graphql", None, json!({ "nothing": 1 }), "BAD_REQUEST"),
        (
            "/sale/999999/graphql",
            Some(&fan.token),
            json!({ "query": "{ event { id } }" }),
            "EVENT_NOT_FOUND",
        ),
        (
            &sale_path,
            None,
            json!({ "query": "{ event { id } }" }),
            "QUEUE_TOKEN_REQUIRED",
        ),
        (
            &sale_path,
            Some("not.a.token"),
            json!({ "query": "{ event { id } }" }),
            "TOKEN_INVALID",
        ),
    ];
    for (path, token, body, code) in cases {
        let (status, answer) = post(&app, path, token, body.clone()).await;
        let documented = graphql_api::error::ErrorCode::from_code(code).expect("a documented code");

        assert_eq!(first_error_code(&answer), Some(code), "{body}: {answer}");
        assert_eq!(status, documented.http_status(), "{code}: {answer}");
    }

    // A field's error inside an executed request is a 200 answer.
    let (status, answer) = post(
        &app,
        "/graphql",
        None,
        json!({ "query": "{ event(id: 424242) { id } }" }),
    )
    .await;
    assert_eq!(
        (status, first_error_code(&answer)),
        (200, Some("EVENT_NOT_FOUND")),
        "{answer}"
    );
    let (status, answer) = post(&app, "/graphql", None, json!({ "query": "{ me { id } }" })).await;
    assert_eq!(
        (status, first_error_code(&answer)),
        (200, Some("UNAUTHENTICATED")),
        "{answer}"
    );

    let put = app
        .http
        .put(format!("{}/graphql", app.base_url()))
        .send()
        .await
        .expect("a response");
    assert_eq!(put.status().as_u16(), 405);
    let put: Value = put.json().await.expect("JSON");
    assert_eq!(put["error"]["code"], "METHOD_NOT_ALLOWED");
}

#[tokio::test]
async fn every_dataloader_field_answers_the_same_over_http_and_websocket() {
    let app = TestApp::spawn().await;
    let event = app.seed_event(20).await;
    let fan = admitted(&app, event).await;
    let public = [
        "{ events { id categories { name } } }".to_owned(),
        format!("{{ event(id: {event}) {{ id categories {{ name colour }} }} }}"),
    ];
    let sale = [
        "{ seatCategories { name } }",
        "{ availability { total available categories { category { name } available } } }",
        "{ seats(first: 3) { edges { node { id category { name } } } } }",
        "{ event { id categories { name } } }",
    ];

    for query in &public {
        let http = app.public(query, json!({})).await;
        let socket = over_ws(&public_ws(&app), query, json!({})).await;
        assert!(http.get("errors").is_none(), "{query}: {http}");
        assert_eq!(socket["data"], http["data"], "{query}: {socket}");
        assert!(socket.get("errors").is_none(), "{query}: {socket}");
    }
    for query in sale {
        let http = app.sale_as(&fan.token, event, query, json!({})).await;
        let socket = over_ws(&sale_ws(&app, event, &fan.token), query, json!({})).await;
        assert!(http.get("errors").is_none(), "{query}: {http}");
        assert_eq!(socket["data"], http["data"], "{query}: {socket}");
    }
}

#[tokio::test]
async fn a_hold_made_over_websocket_is_answered_as_made() {
    let app = TestApp::spawn().await;
    let event = app.seed_event(20).await;
    let fan = admitted(&app, event).await;
    let seats: Vec<String> = seat_ids(&app.db.connection, event, 2)
        .await
        .iter()
        .map(i64::to_string)
        .collect();
    let lock = "mutation($seats: [ID!]!, $key: String!) { lockSeats(seatIds: $seats, idempotencyKey: $key) { id status seats { id status category { name } } } }";

    let answer = over_ws(
        &sale_ws(&app, event, &fan.token),
        lock,
        json!({ "seats": seats, "key": key() }),
    )
    .await;
    let mine = app
        .sale_as(&fan.token, event, "{ myHold { id } }", json!({}))
        .await;

    assert!(answer.get("errors").is_none(), "{answer}");
    assert_eq!(answer["data"]["lockSeats"]["status"], "ACTIVE", "{answer}");
    assert_eq!(
        answer["data"]["lockSeats"]["id"], mine["data"]["myHold"]["id"],
        "{mine}"
    );
}

#[tokio::test]
async fn a_socket_that_starts_too_many_operations_is_told_to_wait() {
    let app = TestApp::spawn_with(|config| config.ws_operations_per_sec = 2).await;
    let mut client = WsClient::connect(&public_ws(&app), json!({})).await;

    let mut codes = Vec::new();
    for id in 0..8 {
        client
            .subscribe(&id.to_string(), "{ events { id } }", json!({}))
            .await;
        let answer = client.next_payload(&id.to_string()).await;
        codes.push(first_error_code(&answer["payload"]).map(str::to_owned));
    }

    assert_eq!(
        codes.iter().filter(|code| code.is_none()).count(),
        4,
        "{codes:?}"
    );
    assert!(
        codes.iter().flatten().all(|code| code == "RATE_LIMITED"),
        "{codes:?}"
    );
}

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

#[tokio::test]
async fn a_huge_list_of_seats_is_answered_quickly_and_holds_nothing() {
    let app = TestApp::spawn_with(|config| config.max_body_bytes = 1024 * 1024).await;
    let event = app.seed_event(20).await;
    let fan = admitted(&app, event).await;
    let seats: Vec<String> = (1..=60_000).map(|id| id.to_string()).collect();
    let lock = "mutation($seats: [ID!]!, $key: String!) { lockSeats(seatIds: $seats, idempotencyKey: $key) { id } }";

    let started = std::time::Instant::now();
    let answer = app
        .sale_as(
            &fan.token,
            event,
            lock,
            json!({ "seats": seats, "key": key() }),
        )
        .await;

    assert!(
        matches!(
            first_error_code(&answer),
            Some("HOLD_LIMIT_EXCEEDED" | "SEAT_NOT_FOUND")
        ),
        "{answer}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
    assert_eq!(count(&app, "SELECT count(*) FROM holds").await, 0);
}

#[tokio::test]
async fn the_complexity_limit_prices_a_password_hash() {
    let app = TestApp::spawn_with(|config| config.graphql_max_complexity = 500).await;
    let login = r#"mutation { login(email: "a@fans.test", password: "guess") { accessToken } }"#;

    let (status, priced) = post(&app, "/graphql", None, json!({ "query": login })).await;
    let cheap = app.public("{ events { id name } }", json!({})).await;

    assert_eq!(
        (status, first_error_code(&priced)),
        (400, Some("QUERY_TOO_COMPLEX")),
        "{priced}"
    );
    assert!(cheap.get("errors").is_none(), "{cheap}");
}

#[tokio::test]
async fn missing_or_misshapen_variables_are_bad_user_input() {
    let app = TestApp::spawn().await;
    let register = "mutation($i: RegisterInput!) { register(input: $i) { accessToken } }";
    let cases = [
        json!({ "query": "query($e: ID!) { event(id: $e) { id } }" }),
        json!({ "query": "query($e: ID!) { event(id: $e) { id } }", "variables": {} }),
        json!({ "query": "query($e: ID!) { event(id: $e) { id } }", "variables": { "e": null } }),
        json!({ "query": register, "variables": { "i": [] } }),
        json!({ "query": register, "variables": { "i": "x" } }),
        json!({ "query": register, "variables": { "i": { "email": ["a"], "password": "p", "displayName": "d" } } }),
    ];

    for body in &cases {
        let (status, answer) = post(&app, "/graphql", None, body.clone()).await;
        let socket = over_ws(
            &public_ws(&app),
            body["query"].as_str().unwrap_or_default(),
            body.get("variables").cloned().unwrap_or(json!({})),
        )
        .await;

        assert_eq!(
            first_error_code(&answer),
            Some("BAD_USER_INPUT"),
            "{body}: {answer}"
        );
        assert!(status == 400 || status == 200, "{body}: {status}");
        assert_eq!(
            first_error_code(&socket),
            Some("BAD_USER_INPUT"),
            "{body}: {socket}"
        );
    }
}

/// `{ ...F0 }` through `links` fragments each spreading the next, the last asking for events:
/// `links + 2` levels deep as async-graphql counts (each spread a level, `events` one more).
fn fragment_chain(links: usize) -> String {
    let mut query = String::from("{ ...F0 }\n");
    for link in 0..links {
        query.push_str(&format!(
            "fragment F{link} on PublicQuery {{ ...F{} }}\n",
            link + 1
        ));
    }
    query.push_str(&format!(
        "fragment F{links} on PublicQuery {{ events {{ id }} }}\n"
    ));
    query
}

#[tokio::test]
async fn the_guard_and_async_graphql_draw_the_depth_line_in_the_same_place() {
    let app = TestApp::spawn().await;
    let bound = graphql_api::guard::MAX_RECURSIVE_DEPTH;

    // At the bound: both let it run (were the guard to count less deep than async-graphql,
    // this would come back GRAPHQL_PARSE_FAILED from the library's own limit).
    let (at_status, at) = post(
        &app,
        "/graphql",
        None,
        json!({ "query": fragment_chain(bound - 2) }),
    )
    .await;
    let (over_status, over) = post(
        &app,
        "/graphql",
        None,
        json!({ "query": fragment_chain(bound - 1) }),
    )
    .await;

    assert_eq!(at_status, 200, "{at}");
    assert!(at["data"]["events"].is_array(), "{at}");
    assert_eq!(
        (over_status, first_error_code(&over)),
        (400, Some("QUERY_TOO_DEEP")),
        "{over}"
    );
}
