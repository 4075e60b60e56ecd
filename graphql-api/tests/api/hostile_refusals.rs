//! Requests refused before they run: operations that cannot be chosen or run over HTTP,
//! repeated expensive fields, and the documented status of each refusal.

use graphql_api::testing::{TestApp, first_error_code};
use serde_json::{Value, json};

use crate::{
    hostile_support::{post, public_ws},
    sale_support::admitted,
    ws_client::WsClient,
};

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
