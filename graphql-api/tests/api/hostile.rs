//! Requests too deep or too big: each is refused with its code and status, over HTTP and
//! WebSocket, on both schemas, before anything recursive walks it; none aborts the process.

use graphql_api::testing::{TestApp, first_error_code};
use serde_json::json;

use crate::{
    hostile_support::{alive, count, deep_list, fragment_chain, over_ws, post, public_ws, sale_ws},
    sale_support::{admitted, key},
};

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
