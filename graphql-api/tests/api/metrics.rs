//! The API's Prometheus metrics: operations by root field and outcome, queue counters per
//! event, the pool.

use graphql_api::testing::TestApp;
use serde_json::json;

use crate::sale_support::{admitted, lock, seat_ids};

async fn scrape(app: &TestApp) -> String {
    let response = reqwest::get(format!("{}/metrics", app.base_url()))
        .await
        .expect("request");
    assert_eq!(response.status().as_u16(), 200);
    response.text().await.expect("text")
}

/// The value of the sample whose line starts with `series` (labels sorted, as exported).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
}

#[tokio::test]
async fn operations_queues_and_the_pool_are_exported() {
    let app = TestApp::spawn().await;
    let event = app.seed_event(20).await;
    let seats = seat_ids(&app.db.connection, event, 2).await;
    let (first, second) = (admitted(&app, event).await, admitted(&app, event).await);
    assert!(lock(&app, event, &first, &seats[..1]).await["data"]["lockSeats"]["id"].is_string());
    let lost = lock(&app, event, &second, &seats[..1]).await;
    assert!(lost["data"]["lockSeats"].is_null(), "{lost}");
    // Refused input and a fan without a token.
    app.public("{ event(id: \"nope\") { id } }", json!({}))
        .await;
    // Aliased: the error's path names the alias, and still counts against `joinQueue`.
    app.public(
        "mutation($id: ID!) { mine: joinQueue(eventId: $id) { state } }",
        json!({ "id": event.to_string() }),
    )
    .await;
    let fan = uuid::Uuid::new_v4();
    app.ensure_user(fan).await;
    let token = app.access_token(fan, "FAN");
    let joined = app
        .public_as(
            &token,
            "mutation($id: ID!) { joinQueue(eventId: $id) { state } }",
            json!({ "id": event.to_string() }),
        )
        .await;
    assert_eq!(joined["data"]["joinQueue"]["state"], "WAITING", "{joined}");

    let text = scrape(&app).await;
    let count = |labels: &str| {
        sample(&text, &format!("api_graphql_operations_total{{{labels}}}")).unwrap_or(0.0)
    };
    assert_eq!(
        count(r#"field="lockSeats",outcome="ok",schema="sale""#),
        1.0,
        "{text}"
    );
    assert_eq!(
        count(r#"field="lockSeats",outcome="SEAT_TAKEN",schema="sale""#),
        1.0
    );
    assert_eq!(
        count(r#"field="joinQueue",outcome="UNAUTHENTICATED",schema="public""#),
        1.0
    );
    assert_eq!(
        count(r#"field="joinQueue",outcome="ok",schema="public""#),
        1.0
    );
    assert_eq!(
        sample(
            &text,
            r#"api_graphql_field_seconds_count{field="lockSeats",schema="sale"}"#
        ),
        Some(2.0)
    );
    assert_eq!(
        sample(
            &text,
            &format!(r#"api_queue_fans{{event="{event}",state="waiting"}}"#)
        ),
        Some(1.0),
        "{text}"
    );
    assert!(
        sample(
            &text,
            &format!(r#"api_queue_admission{{event="{event}",measure="rate"}}"#)
        )
        .is_some_and(|rate| rate > 0.0)
    );
    assert_eq!(
        sample(
            &text,
            &format!(r#"api_queue_admission{{event="{event}",measure="eta_likely"}}"#)
        ),
        Some(0.0),
        "no forecast before the line has moved"
    );
    assert_eq!(
        sample(&text, r#"api_db_pool_connections{state="max"}"#),
        Some(f64::from(app.instance.state.config().db_max_connections))
    );
}

/// Every API metric the checked-in Grafana dashboard charts is one the API exports.
#[tokio::test]
async fn the_dashboard_charts_only_metrics_the_api_exports() {
    let app = TestApp::spawn().await;
    let event = app.seed_event(4).await;
    let seats = seat_ids(&app.db.connection, event, 1).await;
    let fan = admitted(&app, event).await;
    lock(&app, event, &fan, &seats).await;
    let text = scrape(&app).await;
    let dashboard: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../docs/ops/grafana-dashboard.json"
        ))
        .expect("the dashboard"),
    )
    .expect("JSON");
    let mut charted = Vec::new();
    for panel in dashboard["panels"].as_array().expect("panels") {
        for target in panel["targets"].as_array().expect("targets") {
            let expr = target["expr"].as_str().expect("expr");
            charted.extend(
                expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .filter(|word| word.starts_with("api_"))
                    .map(str::to_owned),
            );
        }
    }
    assert!(charted.len() >= 8, "{charted:?}");
    for metric in charted {
        assert!(
            text.lines()
                .any(|line| line.starts_with(&format!("{metric}{{"))),
            "the dashboard charts {metric}, which /metrics does not export"
        );
    }
}

/// A subscription counts while it is open and stops counting when its socket closes.
#[tokio::test]
async fn open_subscriptions_are_a_gauge() {
    let app = TestApp::spawn().await;
    let state = &app.instance.state;
    let event = crate::queue_support::event(state, app.seed_event(4).await).await;
    let me = crate::queue_support::fan();
    graphql_api::queue::join(state, &event, &me)
        .await
        .expect("join");
    let token = app.access_token(me.user_id, "FAN");
    let open = |text: &str| sample(text, r#"api_subscriptions_open{schema="public"}"#);
    assert_eq!(open(&scrape(&app).await), Some(0.0));
    let mut client = crate::ws_client::WsClient::connect(
        &format!("ws://{}/graphql", app.instance.address),
        json!({ "authorization": format!("Bearer {token}") }),
    )
    .await;
    client
        .subscribe(
            "1",
            "subscription($e: ID!) { queuePosition(eventId: $e) { state } }",
            json!({ "e": event.id.to_string() }),
        )
        .await;
    client.next_payload("1").await;
    assert_eq!(open(&scrape(&app).await), Some(1.0));
    drop(client);
    let mut closed = None;
    for _ in 0..100 {
        closed = open(&scrape(&app).await);
        if closed == Some(0.0) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(closed, Some(0.0), "the closed subscription still counts");
}
