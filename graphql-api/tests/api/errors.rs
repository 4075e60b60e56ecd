//! Bad requests of every kind get a clear code and never a panic or a bare 500.

use graphql_api::testing::{TestApp, first_error_code};
use serde_json::json;

#[tokio::test]
async fn a_query_nested_too_deep_is_refused_with_query_too_deep() {
    let app = TestApp::spawn().await;
    // Introspection nests as deep as one likes: 20 levels here, over the limit of 15.
    let mut query = String::from("name");
    for _ in 0..18 {
        query = format!("ofType {{ {query} }}");
    }
    let query = format!("{{ __schema {{ types {{ fields {{ type {{ {query} }} }} }} }} }}");

    let body = app.public(&query, json!({})).await;

    assert_eq!(first_error_code(&body), Some("QUERY_TOO_DEEP"), "{body}");
    assert!(body["data"].is_null());
}

#[tokio::test]
async fn a_query_too_costly_is_refused_with_query_too_complex() {
    let app = TestApp::spawn().await;
    let event = app.seed_event(100).await;
    let selection = "edges { cursor node { id section row number status version \
        category { id name colour price { amountMinor currency formatted } } } }";
    let query = format!(
        "{{ a: seats(first: 500) {{ {selection} }} b: seats(first: 500) {{ {selection} }} }}"
    );

    let body = app.sale(event, &query, json!({})).await;

    assert_eq!(first_error_code(&body), Some("QUERY_TOO_COMPLEX"), "{body}");
}

#[tokio::test]
async fn the_standard_introspection_query_fits_within_the_limits() {
    let app = TestApp::spawn().await;
    // What GraphiQL and code generators send.
    let query = r#"query IntrospectionQuery { __schema { queryType { name } mutationType { name }
      subscriptionType { name } types { ...FullType } directives { name description locations
      args { ...InputValue } } } }
    fragment FullType on __Type { kind name description fields(includeDeprecated: true) {
      name description args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason }
      inputFields { ...InputValue } interfaces { ...TypeRef } enumValues(includeDeprecated: true) {
      name description isDeprecated deprecationReason } possibleTypes { ...TypeRef } }
    fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
    fragment TypeRef on __Type { kind name ofType { kind name ofType { kind name ofType { kind name
      ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } }"#;

    let body = app.public(query, json!({})).await;

    assert!(body.get("errors").is_none(), "{body}");
    assert!(
        body["data"]["__schema"]["types"]
            .as_array()
            .is_some_and(|types| types.len() > 5)
    );
}

#[tokio::test]
async fn malformed_graphql_is_graphql_parse_failed() {
    let app = TestApp::spawn().await;

    let body = app.public("{ events { name ", json!({})).await;

    assert_eq!(
        first_error_code(&body),
        Some("GRAPHQL_PARSE_FAILED"),
        "{body}"
    );
}

#[tokio::test]
async fn an_unknown_field_or_wrong_argument_is_graphql_validation_failed() {
    let app = TestApp::spawn().await;

    let unknown = app.public("{ tickets { id } }", json!({})).await;
    let wrong = app
        .public("{ event(id: 1, colour: \"red\") { name } }", json!({}))
        .await;

    assert_eq!(
        first_error_code(&unknown),
        Some("GRAPHQL_VALIDATION_FAILED"),
        "{unknown}"
    );
    assert_eq!(
        first_error_code(&wrong),
        Some("GRAPHQL_VALIDATION_FAILED"),
        "{wrong}"
    );
}

#[tokio::test]
async fn a_body_that_is_not_a_graphql_request_is_bad_request() {
    let app = TestApp::spawn().await;

    for body in ["not json", "{\"variables\": {}}", "[1,2,3]"] {
        let response = app
            .http
            .post(format!("{}/graphql", app.base_url()))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("request");

        assert_eq!(response.status().as_u16(), 400, "{body}");
        let json: serde_json::Value = response.json().await.expect("json");
        assert_eq!(
            first_error_code(&json),
            Some("BAD_REQUEST"),
            "{body}: {json}"
        );
    }
}

#[tokio::test]
async fn a_body_over_the_limit_is_payload_too_large() {
    let app = TestApp::spawn_with(|config| config.max_body_bytes = 4_096).await;
    let padding = "x".repeat(10_000);

    let (status, body) = app
        .post_json(
            "/graphql",
            &json!({ "query": "{ events { name } }", "extensions": { "pad": padding } }),
        )
        .await;

    assert_eq!(status, 413);
    assert_eq!(first_error_code(&body), Some("PAYLOAD_TOO_LARGE"), "{body}");
}

#[tokio::test]
async fn an_unknown_route_is_a_json_404() {
    let app = TestApp::spawn().await;

    let response = reqwest::get(format!("{}/nothing/here", app.base_url()))
        .await
        .expect("request");

    assert_eq!(response.status().as_u16(), 404);
    let body: serde_json::Value = response.json().await.expect("json");
    assert_eq!(body["error"]["code"], "NOT_FOUND");
}

#[tokio::test]
async fn get_on_a_graphql_path_serves_graphiql() {
    let app = TestApp::spawn().await;
    let event = app.seed_event(10).await;

    for path in ["/graphql".to_owned(), format!("/sale/{event}/graphql")] {
        let response = reqwest::get(format!("{}{path}", app.base_url()))
            .await
            .expect("request");

        assert_eq!(response.status().as_u16(), 200, "{path}");
        let html = response.text().await.expect("html");
        assert!(html.contains("graphiql"), "{path}");
        assert!(html.contains(&path), "GraphiQL points at {path}");
    }
}

#[test]
fn the_readme_error_table_is_the_one_the_code_writes() {
    let readme = include_str!("../../../README.md");
    let table = graphql_api::error::ErrorCode::markdown_table();

    assert!(
        readme.contains(&table),
        "README's error table differs from the code's; replace it with the output of\n  \
         cargo run -p graphql-api -- error-codes\n\n{table}"
    );
}
