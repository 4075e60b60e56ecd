//! Seat pages, filters, availability and their bad input, on the sale schema.

use std::collections::HashSet;

use graphql_api::testing::{TestApp, first_error_code};
use serde_json::{Value, json};

use crate::support::{first_seat_ids, hold_seats, insert_user};

const PAGE: &str = "query($first: Int, $after: String, $section: String, $category: ID, $status: SeatStatus) { \
    seats(first: $first, after: $after, section: $section, category: $category, status: $status) { \
    edges { cursor node { id section row number status version category { id name } } } \
    pageInfo { hasNextPage hasPreviousPage endCursor } } }";

async fn page(app: &TestApp, event: i64, variables: Value) -> Value {
    app.sale(event, PAGE, variables).await
}

fn ids(body: &Value) -> Vec<String> {
    body["data"]["seats"]["edges"]
        .as_array()
        .map(|edges| {
            edges
                .iter()
                .map(|e| e["node"]["id"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn paging_through_all_seats_visits_each_once_in_id_order() {
    let app = TestApp::spawn().await;
    let event = app.seed_event(450).await;

    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    let mut pages = 0;
    loop {
        let body = page(&app, event, json!({ "first": 100, "after": after })).await;
        assert!(body.get("errors").is_none(), "{body}");
        seen.extend(ids(&body));
        pages += 1;
        let info = &body["data"]["seats"]["pageInfo"];
        if info["hasNextPage"] != json!(true) {
            break;
        }
        after = info["endCursor"].as_str().map(str::to_owned);
    }

    assert_eq!(pages, 5);
    assert_eq!(seen.len(), 450);
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 450);
    let numeric: Vec<i64> = seen.iter().map(|id| id.parse().expect("numeric")).collect();
    assert!(numeric.windows(2).all(|w| w[0] < w[1]), "ids ascend");
}

#[tokio::test]
async fn a_page_of_seats_with_categories_costs_the_same_queries_as_a_small_one() {
    let app = TestApp::spawn().await;
    let event = app.seed_event(300).await;
    page(&app, event, json!({ "first": 1 })).await; // warm the event cache

    let count = |first: i64| {
        let app = &app;
        async move {
            let before = app.instance.state.queries().get();
            let body = page(app, event, json!({ "first": first })).await;
            assert!(body.get("errors").is_none(), "{body}");
            app.instance.state.queries().get() - before
        }
    };
    let small = count(2).await;
    let large = count(200).await;

    assert_eq!(small, large, "categories are batched, not loaded per seat");
    assert!(
        large <= 2,
        "one query for seats and one for categories, got {large}"
    );
}

#[tokio::test]
async fn filters_by_section_category_and_status_narrow_the_page() {
    let app = TestApp::spawn().await;
    let event = app.seed_event(400).await;
    let all = page(&app, event, json!({ "first": 500 })).await;
    let first_node = &all["data"]["seats"]["edges"][0]["node"];
    let section = first_node["section"].as_str().expect("section").to_owned();
    let category = first_node["category"]["id"]
        .as_str()
        .expect("category")
        .to_owned();

    let by_section = page(&app, event, json!({ "first": 500, "section": section })).await;
    let by_category = page(&app, event, json!({ "first": 500, "category": category })).await;
    let booked = page(&app, event, json!({ "first": 500, "status": "BOOKED" })).await;

    let edges = |body: &Value| {
        body["data"]["seats"]["edges"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    };
    assert!(!edges(&by_section).is_empty());
    assert!(
        edges(&by_section)
            .iter()
            .all(|e| e["node"]["section"] == json!(section))
    );
    assert!(edges(&by_section).len() < 400);
    assert!(
        edges(&by_category)
            .iter()
            .all(|e| e["node"]["category"]["id"] == json!(category))
    );
    assert!(edges(&by_category).len() < 400);
    assert!(edges(&booked).is_empty(), "nothing is booked yet: {booked}");
}

#[tokio::test]
async fn an_expired_hold_counts_as_available_and_a_live_one_as_held() {
    let app = TestApp::spawn().await;
    let event = app.seed_event(100).await;
    let db = &app.db.connection;
    let seats = first_seat_ids(db, event, 5).await;
    let fan = insert_user(db, "a@example.com").await;
    let other = insert_user(db, "b@example.com").await;
    hold_seats(db, event, fan, &seats[..3], 600).await;
    hold_seats(db, event, other, &seats[3..], -5).await;

    let held = page(&app, event, json!({ "first": 100, "status": "HELD" })).await;
    let available = page(&app, event, json!({ "first": 100, "status": "AVAILABLE" })).await;
    let counts = app
        .sale(
            event,
            "{ availability { total available held booked categories { total available held } } }",
            json!({}),
        )
        .await;

    let held_ids: Vec<String> = ids(&held);
    assert_eq!(
        held_ids,
        seats[..3].iter().map(i64::to_string).collect::<Vec<_>>()
    );
    assert_eq!(
        ids(&available).len(),
        97,
        "expired holds are available again"
    );
    let availability = &counts["data"]["availability"];
    assert_eq!(availability["total"], 100, "{counts}");
    assert_eq!(availability["held"], 3);
    assert_eq!(availability["available"], 97);
    assert_eq!(availability["booked"], 0);
    let per_category: i64 = availability["categories"]
        .as_array()
        .expect("categories")
        .iter()
        .map(|c| c["total"].as_i64().unwrap_or_default())
        .sum();
    assert_eq!(per_category, 100);
}

#[tokio::test]
async fn one_seat_can_be_read_by_id_but_not_from_another_event() {
    let app = TestApp::spawn().await;
    let event = app.seed_event(100).await;
    let mut spec = graphql_api::seed::load_test_spec(100);
    spec.slug = "another-show".to_owned();
    let second = graphql_api::seed::seed_event(&app.db.connection, &spec)
        .await
        .expect("seeding")
        .event_id;
    let seat = first_seat_ids(&app.db.connection, event, 1).await[0];

    let query = "query($id: ID!) { seat(id: $id) { id section row number status } }";
    let found = app
        .sale(event, query, json!({ "id": seat.to_string() }))
        .await;
    let foreign = app
        .sale(second, query, json!({ "id": seat.to_string() }))
        .await;
    let junk = app.sale(event, query, json!({ "id": "seat-one" })).await;

    assert_eq!(found["data"]["seat"]["id"], seat.to_string(), "{found}");
    assert_eq!(first_error_code(&foreign), Some("SEAT_NOT_FOUND"));
    assert_eq!(first_error_code(&junk), Some("SEAT_NOT_FOUND"));
}

#[tokio::test]
async fn bad_paging_input_gets_a_code_and_no_data() {
    let app = TestApp::spawn().await;
    let event = app.seed_event(50).await;

    let cases = [
        (json!({ "first": 501 }), "PAGE_TOO_LARGE"),
        (json!({ "first": 0 }), "BAD_USER_INPUT"),
        (json!({ "first": -3 }), "BAD_USER_INPUT"),
        (json!({ "after": "not-a-cursor" }), "INVALID_CURSOR"),
        (json!({ "after": "c2VhdDotNQ" }), "INVALID_CURSOR"),
        (json!({ "category": "gold" }), "BAD_USER_INPUT"),
        (json!({ "status": "SOLD" }), "BAD_USER_INPUT"),
        (json!({ "first": "ten" }), "BAD_USER_INPUT"),
    ];
    for (variables, code) in cases {
        let body = page(&app, event, variables.clone()).await;

        assert_eq!(first_error_code(&body), Some(code), "{variables}: {body}");
        assert!(
            body["data"].is_null() || body["data"]["seats"].is_null(),
            "{body}"
        );
    }
}

#[tokio::test]
async fn the_sale_path_of_an_unknown_event_is_a_404_with_a_code() {
    let app = TestApp::spawn().await;

    for path in [
        "/sale/424242/graphql",
        "/sale/abc/graphql",
        "/sale/-1/graphql",
    ] {
        let (status, body) = app
            .post_json(path, &json!({ "query": "{ seatCategories { name } }" }))
            .await;

        assert_eq!(status, 404, "{path}");
        assert_eq!(
            first_error_code(&body),
            Some("EVENT_NOT_FOUND"),
            "{path}: {body}"
        );
    }
}
