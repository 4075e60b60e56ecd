//! Events on the public schema.

use graphql_api::{
    seed,
    testing::{TestApp, first_error_code},
};
use serde_json::json;

const EVENT: &str = "query($id: ID!) { event(id: $id) { id slug name artist venue city status \
    gateEnabled maxSeatsPerFan salePath categories { name colour price { amountMinor currency formatted } } } }";

#[tokio::test]
async fn the_demo_show_is_listed_with_its_prices_in_rupees() {
    let app = TestApp::spawn().await;
    let report = seed::seed_demo(&app.db.connection).await.expect("seeding");

    let body = app
        .public(EVENT, json!({ "id": report.event_id.to_string() }))
        .await;

    let event = &body["data"]["event"];
    assert_eq!(event["name"], "Coldplay: Music of the Spheres", "{body}");
    assert_eq!(event["venue"], "DY Patil Stadium");
    assert_eq!(event["city"], "Mumbai");
    assert_eq!(event["status"], "ON_SALE");
    assert_eq!(
        event["salePath"],
        format!("/sale/{}/graphql", report.event_id)
    );
    let prices: Vec<(String, i64, String)> = event["categories"]
        .as_array()
        .expect("categories")
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap_or_default().to_owned(),
                c["price"]["amountMinor"].as_i64().unwrap_or_default(),
                c["price"]["formatted"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect();
    assert_eq!(
        prices,
        vec![
            ("Platinum".to_owned(), 1_250_000, "₹12,500".to_owned()),
            ("Gold".to_owned(), 750_000, "₹7,500".to_owned()),
            ("Silver".to_owned(), 250_000, "₹2,500".to_owned()),
        ]
    );
}

#[tokio::test]
async fn events_lists_every_event_soonest_first_with_categories_batched() {
    let app = TestApp::spawn().await;
    seed::seed_demo(&app.db.connection)
        .await
        .expect("seeding demo");
    app.seed_event(200).await;

    let before = app.instance.state.queries().get();
    let body = app
        .public(
            "{ events { slug startsAt categories { name } } }",
            json!({}),
        )
        .await;
    let statements = app.instance.state.queries().get() - before;

    let events = body["data"]["events"].as_array().expect("events");
    assert_eq!(events.len(), 2, "{body}");
    assert_eq!(events[0]["slug"], seed::DEMO_SLUG);
    assert!(
        events
            .iter()
            .all(|e| e["categories"].as_array().map(Vec::len) == Some(3))
    );
    // One query for the events and one batch for all their categories: no N+1.
    assert_eq!(
        statements, 2,
        "statements for two events and their categories"
    );
}

#[tokio::test]
async fn an_event_can_be_found_by_slug() {
    let app = TestApp::spawn().await;
    seed::seed_demo(&app.db.connection).await.expect("seeding");

    let body = app
        .public(
            "query($slug: String!) { eventBySlug(slug: $slug) { name } }",
            json!({ "slug": seed::DEMO_SLUG }),
        )
        .await;
    let missing = app
        .public(
            "query($slug: String!) { eventBySlug(slug: $slug) { name } }",
            json!({ "slug": "nope" }),
        )
        .await;

    assert_eq!(
        body["data"]["eventBySlug"]["name"],
        "Coldplay: Music of the Spheres"
    );
    assert_eq!(first_error_code(&missing), Some("EVENT_NOT_FOUND"));
}

#[tokio::test]
async fn an_unknown_or_malformed_event_id_is_event_not_found() {
    let app = TestApp::spawn().await;

    for id in ["999999", "abc", "-1", "0", &"9".repeat(400)] {
        let body = app.public(EVENT, json!({ "id": id })).await;

        assert_eq!(
            first_error_code(&body),
            Some("EVENT_NOT_FOUND"),
            "id {id}: {body}"
        );
        assert!(body["data"].is_null(), "{body}");
        let message = body["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(message.len() < 200, "messages stay short: {message}");
    }
}
