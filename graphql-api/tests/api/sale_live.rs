//! Live availability across instances, sale subscriptions closing when their admission
//! ends, and the signed payment webhook.

use std::time::Duration;

use graphql_api::{
    payments::webhook,
    queue,
    testing::{TestApp, first_error_code},
};
use serde_json::json;

use crate::{
    queue_support::{active, admit_all, event, fan, set_limits},
    sale_support::{admitted, hold_and_book, key, lock, seat_ids, seat_status},
    ws_client::{WsClient, sale_ws},
};

const CHANGES: &str = "subscription { seatAvailability { eventId fromSequence toSequence resync changes { seatId status version } } }";

#[tokio::test]
async fn a_hold_made_through_one_instance_reaches_a_subscriber_on_another() {
    let app = TestApp::spawn().await;
    let other = app.spawn_instance(|_| {}).await;
    let event = app.seed_event(50).await;
    let seats = seat_ids(&app.db.connection, event, 2).await;
    let watcher = admitted(&app, event).await;
    let buyer = admitted(&app, event).await;
    let mut client =
        WsClient::connect(&sale_ws(other.address, event, &watcher.token), json!({})).await;
    client.subscribe("s", CHANGES, json!({})).await;
    // The subscription is live once the instance listens; a first change proves it.
    tokio::time::sleep(Duration::from_millis(300)).await;

    lock(&app, event, &buyer, &seats).await;
    let batch = client.next_payload("s").await;

    let changes = &batch["payload"]["data"]["seatAvailability"]["changes"];
    let seen: Vec<&str> = changes
        .as_array()
        .expect("changes")
        .iter()
        .map(|c| c["seatId"].as_str().unwrap_or_default())
        .collect();
    assert!(
        seen.contains(&seats[0].to_string().as_str())
            && seen.contains(&seats[1].to_string().as_str()),
        "{batch}"
    );
    assert!(
        changes
            .as_array()
            .expect("changes")
            .iter()
            .all(|c| c["status"] == "HELD" && c["version"].as_i64() >= Some(1))
    );
    assert!(batch["payload"]["data"]["seatAvailability"]["toSequence"].as_i64() >= Some(1));
}

#[tokio::test]
async fn the_seat_map_says_which_sequence_it_includes() {
    let app = TestApp::spawn().await;
    let event = app.seed_event(20).await;
    let seats = seat_ids(&app.db.connection, event, 1).await;
    let buyer = admitted(&app, event).await;

    let before = app.sale(event, "{ seatMap { sequence } }", json!({})).await;
    lock(&app, event, &buyer, &seats).await;
    let after = app
        .sale(event, "{ seatMap { sequence status } }", json!({}))
        .await;

    assert_eq!(before["data"]["seatMap"]["sequence"], 0, "{before}");
    assert_eq!(after["data"]["seatMap"]["sequence"], 1, "{after}");
}

/// A fan admitted by the queue itself (so buying or a revocation ends the admission),
/// with their admission token.
async fn admitted_through_the_queue(
    state: &graphql_api::state::AppState,
    event: &entities::event::Model,
) -> (graphql_api::auth::Identity, String) {
    let me = fan();
    queue::join(state, event, &me).await.expect("join");
    set_limits(state, event.id, 100.0, 10).await;
    admit_all(state, &active(event), 1, 5).await;
    let token = queue::status(state, event, &me)
        .await
        .expect("status")
        .admission
        .expect("admitted")
        .token;
    (me, token)
}

#[tokio::test]
async fn a_sale_subscription_closes_when_its_admission_is_revoked() {
    let app = TestApp::spawn().await;
    let state = &app.instance.state;
    let event = event(state, app.seed_event(20).await).await;
    let (me, token) = admitted_through_the_queue(state, &event).await;
    let mut client =
        WsClient::connect(&sale_ws(app.instance.address, event.id, &token), json!({})).await;
    client.subscribe("s", CHANGES, json!({})).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let admin = app.access_token(uuid::Uuid::now_v7(), "ADMIN");
    app.public_as(
        &admin,
        "mutation($e: ID!, $u: ID!) { revokeAdmission(eventId: $e, userId: $u) }",
        json!({ "e": event.id.to_string(), "u": me.user_id.to_string() }),
    )
    .await;
    let closing = client.next_payload("s").await;
    let after = client.next_payload("s").await;

    assert_eq!(
        closing["payload"]["errors"][0]["extensions"]["code"], "TOKEN_REVOKED",
        "{closing}"
    );
    assert_eq!(after["type"], "complete", "{after}");
}

#[tokio::test]
async fn a_buyer_sees_their_seats_booked_before_their_stream_closes() {
    let app = TestApp::spawn().await;
    let state = &app.instance.state;
    let event = event(state, app.seed_event(20).await).await;
    let seats = seat_ids(&app.db.connection, event.id, 2).await;
    let (me, token) = admitted_through_the_queue(state, &event).await;
    app.ensure_user(me.user_id).await;
    let buyer = crate::sale_support::Fan {
        user: me.user_id,
        token: token.clone(),
    };
    let mut client =
        WsClient::connect(&sale_ws(app.instance.address, event.id, &token), json!({})).await;
    client.subscribe("s", CHANGES, json!({})).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let booking = hold_and_book(&app, event.id, &buyer, &seats).await;
    let paid = crate::sale_support::pay(
        &app,
        event.id,
        &buyer,
        booking["id"].as_str().expect("booking"),
        "CARD",
        crate::sale_support::card("4111111111111111"),
    )
    .await;
    assert_eq!(
        paid["data"]["confirmPayment"]["payment"]["status"], "SUCCEEDED",
        "{paid}"
    );

    // Batches until the stream ends: the last change of each seat must be BOOKED, and the
    // stream must then close with TOKEN_REVOKED.
    let mut last = std::collections::HashMap::new();
    let closing = loop {
        let message = client.next_payload("s").await;
        let Some(changes) = message["payload"]["data"]["seatAvailability"]["changes"].as_array()
        else {
            break message;
        };
        for change in changes {
            last.insert(
                change["seatId"].as_str().unwrap_or_default().to_owned(),
                change["status"].as_str().unwrap_or_default().to_owned(),
            );
        }
    };

    assert_eq!(
        closing["payload"]["errors"][0]["extensions"]["code"], "TOKEN_REVOKED",
        "{closing}"
    );
    for seat in &seats {
        assert_eq!(
            last.get(&seat.to_string()).map(String::as_str),
            Some("BOOKED"),
            "seat {seat}: {last:?}"
        );
    }
}

#[tokio::test]
async fn a_sale_subscription_closes_when_its_admission_expires() {
    let app = TestApp::spawn_with(|config| config.admission_ttl_secs = 2).await;
    let event = app.seed_event(20).await;
    let fan = admitted(&app, event).await;
    let mut client =
        WsClient::connect(&sale_ws(app.instance.address, event, &fan.token), json!({})).await;

    client.subscribe("s", CHANGES, json!({})).await;
    let closing = client.next_payload("s").await;

    assert_eq!(
        closing["payload"]["errors"][0]["extensions"]["code"], "TOKEN_EXPIRED",
        "{closing}"
    );
}

#[tokio::test]
async fn a_sale_websocket_without_a_token_is_refused_before_the_upgrade() {
    let app = TestApp::spawn().await;
    let event = app.seed_event(20).await;

    let response = app
        .http
        .get(format!("{}/sale/{event}/graphql", app.base_url()))
        .header("connection", "upgrade")
        .header("upgrade", "websocket")
        .header("sec-websocket-version", "13")
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
        .header("sec-websocket-protocol", "graphql-transport-ws")
        .send()
        .await
        .expect("request");

    assert_eq!(response.status().as_u16(), 401);
    let body: serde_json::Value = response.json().await.expect("json");
    assert_eq!(first_error_code(&body), Some("QUEUE_TOKEN_REQUIRED"));
}

async fn unpaid_booking(app: &TestApp, event: i64) -> (String, String, i64) {
    let seats = seat_ids(&app.db.connection, event, 1).await;
    let fan = admitted(app, event).await;
    let booking = hold_and_book(app, event, &fan, &seats).await;
    (
        booking["id"].as_str().expect("id").to_owned(),
        booking["paymentIntent"]
            .as_str()
            .expect("intent")
            .to_owned(),
        seats[0],
    )
}

async fn post_webhook(app: &TestApp, body: &str, signature: &str) -> (u16, serde_json::Value) {
    let response = app
        .http
        .post(format!("{}/webhooks/payments", app.base_url()))
        .header(webhook::SIGNATURE_HEADER, signature)
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .expect("request");
    (
        response.status().as_u16(),
        response.json().await.expect("json"),
    )
}

#[tokio::test]
async fn the_webhook_refuses_bad_signatures_and_stale_timestamps_and_applies_an_event_once() {
    let app = TestApp::spawn().await;
    let event = app.seed_event(20).await;
    let (_, intent, seat) = unpaid_booking(&app, event).await;
    let secret = "dev-only-webhook-secret-change-me";
    let now = chrono::Utc::now().timestamp();
    let body = json!({ "id": format!("evt_{}", key()), "type": "payment.succeeded",
        "data": { "paymentIntent": intent, "method": "UPI" } })
    .to_string();

    let forged = post_webhook(
        &app,
        &body,
        &webhook::sign("not-the-secret", now, body.as_bytes()),
    )
    .await;
    let stale = post_webhook(
        &app,
        &body,
        &webhook::sign(secret, now - 301, body.as_bytes()),
    )
    .await;
    let unsigned = post_webhook(&app, &body, "").await;
    assert_eq!(
        seat_status(&app.db.connection, seat).await,
        "HELD",
        "refused webhooks change nothing"
    );
    let applied = post_webhook(&app, &body, &webhook::sign(secret, now, body.as_bytes())).await;
    let replayed = post_webhook(&app, &body, &webhook::sign(secret, now, body.as_bytes())).await;

    assert_eq!(
        (forged.0, forged.1["error"]["code"].as_str()),
        (401, Some("WEBHOOK_SIGNATURE_INVALID"))
    );
    assert_eq!(
        (stale.0, stale.1["error"]["code"].as_str()),
        (401, Some("WEBHOOK_TIMESTAMP_STALE"))
    );
    assert_eq!(unsigned.0, 401);
    assert_eq!(
        (applied.0, applied.1["status"].as_str()),
        (200, Some("applied")),
        "{:?}",
        applied.1
    );
    assert_eq!(replayed.1["status"], "duplicate");
    assert_eq!(seat_status(&app.db.connection, seat).await, "BOOKED");
    crate::sale_support::assert_invariants(&app.db.connection, "after webhooks").await;
}

#[tokio::test]
async fn a_failed_payment_webhook_leaves_the_booking_payable() {
    let app = TestApp::spawn().await;
    let event = app.seed_event(20).await;
    let (booking, intent, seat) = unpaid_booking(&app, event).await;
    let body = json!({ "id": "evt_failed_1", "type": "payment.failed",
        "data": { "paymentIntent": intent, "failureMessage": "Insufficient funds." } })
    .to_string();
    let signature = webhook::sign(
        "dev-only-webhook-secret-change-me",
        chrono::Utc::now().timestamp(),
        body.as_bytes(),
    );

    let answer = post_webhook(&app, &body, &signature).await;

    assert_eq!(answer.1["status"], "applied", "{:?}", answer.1);
    assert_eq!(seat_status(&app.db.connection, seat).await, "HELD");
    let status: String = sea_orm::ConnectionTrait::query_one_raw(
        &app.db.connection,
        sea_orm::Statement::from_sql_and_values(
            sea_orm::DbBackend::Postgres,
            "SELECT status FROM bookings WHERE id = $1",
            [uuid::Uuid::parse_str(&booking).expect("uuid").into()],
        ),
    )
    .await
    .expect("query")
    .expect("row")
    .try_get("", "status")
    .expect("status");
    assert_eq!(status, "PAYMENT_FAILED");
}
