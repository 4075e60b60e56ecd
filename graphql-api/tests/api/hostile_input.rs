//! Mistaken input: NUL characters and missing or misshapen variables are the client's
//! input (`BAD_USER_INPUT`), and change nothing.

use graphql_api::testing::{TestApp, first_error_code};
use serde_json::json;

use crate::hostile_support::{count, over_ws, post, public_ws};

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
