//! Load shedding on a real instance: past a kind's bound a request is answered `BUSY` with a
//! retry hint at once, over HTTP (503, `Retry-After`) and WebSocket alike, and changes
//! nothing; an idempotent retry after `BUSY` makes one hold; the queue is answered while
//! the sale is saturated.
//!
//! The pools are saturated by permits the test itself holds (`state.shed().acquire`), as
//! in-flight work would hold them: no timing is involved, and `SHED_WAIT_MS` is 0 so a
//! refused request is refused at once.

use graphql_api::{
    shed::{Kind, Permit},
    testing::{TestApp, first_error_code},
};
use serde_json::{Value, json};

use crate::{
    sale_support::{BOOK, Fan, LOCK, admitted, key, scalar, seat_ids, seat_status},
    ws_client::WsClient,
};

/// An instance allowing one operation of each bounded kind, shedding without waiting.
async fn tight_app() -> TestApp {
    TestApp::spawn_with(|config| {
        config.shed_sale_writes = Some(1);
        config.shed_sale_reads = Some(1);
        config.shed_queue_calls = Some(1);
        config.shed_public_calls = Some(1);
        config.shed_wait_ms = 0;
        config.shed_retry_after_ms = 1_500;
    })
    .await
}

/// Takes every permit of `kind` (the bound is 1), as an operation in flight would.
async fn saturate(app: &TestApp, kind: Kind) -> Permit {
    app.instance
        .state
        .shed()
        .acquire(kind)
        .await
        .unwrap_or_else(|_| panic!("the first permit of {kind:?}"))
}

/// POSTs to a sale path; the status, `Retry-After` and body.
async fn sale_post(
    app: &TestApp,
    event: i64,
    fan: &Fan,
    query: &str,
    variables: Value,
) -> (u16, Option<String>, Value) {
    let response = app
        .http
        .post(format!("{}/sale/{event}/graphql", app.base_url()))
        .bearer_auth(&fan.token)
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await
        .expect("sending");
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    (status, retry_after, response.json().await.expect("json"))
}

async fn rows(app: &TestApp) -> (i64, i64) {
    let db = &app.db.connection;
    (
        scalar(db, "SELECT count(*) FROM holds").await,
        scalar(db, "SELECT count(*) FROM bookings").await,
    )
}

fn lock_vars(seats: &[i64], key: &str) -> Value {
    let ids: Vec<String> = seats.iter().map(i64::to_string).collect();
    json!({ "seats": ids, "key": key })
}

#[tokio::test]
async fn a_saturated_instance_answers_busy_over_http_with_retry_after_and_changes_nothing() {
    let app = tight_app().await;
    let event = app.seed_event(10).await;
    let fan = admitted(&app, event).await;
    let seats = seat_ids(&app.db.connection, event, 2).await;
    let _writes = saturate(&app, Kind::SaleWrites).await;
    let before = rows(&app).await;

    let (status, retry_after, body) =
        sale_post(&app, event, &fan, LOCK, lock_vars(&seats, &key())).await;

    assert_eq!(status, 503, "{body}");
    assert_eq!(first_error_code(&body), Some("BUSY"), "{body}");
    let hint = body["errors"][0]["extensions"]["retryAfterMs"]
        .as_u64()
        .expect("retryAfterMs");
    assert!(hint >= 1_500, "{body}");
    assert_eq!(
        retry_after.as_deref(),
        Some(hint.div_ceil(1_000).to_string().as_str())
    );
    assert!(body["data"].is_null(), "{body}");
    assert_eq!(rows(&app).await, before, "a shed request changes nothing");
    assert_eq!(seat_status(&app.db.connection, seats[0]).await, "AVAILABLE");
    let counts = app.instance.state.shed().snapshot().of(Kind::SaleWrites);
    assert_eq!((counts.in_flight, counts.shed), (1, 1));
}

#[tokio::test]
async fn the_sale_health_counts_the_busy_answers_of_the_shed_gate() {
    let app = tight_app().await;
    let event = app.seed_event(10).await;
    let fan = admitted(&app, event).await;
    let seats = seat_ids(&app.db.connection, event, 1).await;
    let state = &app.instance.state;
    state.sale_health().take(0, 1);
    let _writes = saturate(&app, Kind::SaleWrites).await;

    let (status, _, body) = sale_post(&app, event, &fan, LOCK, lock_vars(&seats, &key())).await;

    assert_eq!(status, 503, "{body}");
    // The autopilot's health hook wraps the shed gate, so a refusal it never let run counts.
    let window = state.sale_health().take(1, 1);
    assert_eq!((window.operations, window.busy), (1, 1), "{window:?}");
}

#[tokio::test]
async fn a_saturated_instance_answers_busy_over_websocket_and_changes_nothing() {
    let app = tight_app().await;
    let event = app.seed_event(10).await;
    let fan = admitted(&app, event).await;
    let seats = seat_ids(&app.db.connection, event, 1).await;
    let url = format!(
        "ws://{}/sale/{event}/graphql?access_token={}",
        app.instance.address, fan.token
    );
    let mut client = WsClient::connect(&url, json!({})).await;
    let _writes = saturate(&app, Kind::SaleWrites).await;
    let _reads = saturate(&app, Kind::SaleReads).await;
    let before = rows(&app).await;

    client
        .subscribe("lock", LOCK, lock_vars(&seats, &key()))
        .await;
    let locked = client.next_payload("lock").await;
    client
        .subscribe("map", "{ seatMap { status } }", json!({}))
        .await;
    let map = client.next_payload("map").await;

    for answer in [&locked, &map] {
        assert_eq!(answer["type"], "next", "{answer}");
        let error = &answer["payload"]["errors"][0];
        assert_eq!(error["extensions"]["code"], "BUSY", "{answer}");
        assert!(error["extensions"]["retryAfterMs"].as_u64() >= Some(1_500));
    }
    assert_eq!(rows(&app).await, before, "a shed request changes nothing");
    let snapshot = app.instance.state.shed().snapshot();
    assert_eq!(snapshot.of(Kind::SaleWrites).shed, 1);
    assert_eq!(snapshot.of(Kind::SaleReads).shed, 1);
}

#[tokio::test]
async fn an_idempotent_retry_after_busy_makes_exactly_one_hold_and_one_booking() {
    let app = tight_app().await;
    let event = app.seed_event(10).await;
    let fan = admitted(&app, event).await;
    let seats = seat_ids(&app.db.connection, event, 2).await;
    let (lock_key, book_key) = (key(), key());

    let writes = saturate(&app, Kind::SaleWrites).await;
    let (status, _, refused) =
        sale_post(&app, event, &fan, LOCK, lock_vars(&seats, &lock_key)).await;
    drop(writes);
    let (_, _, first) = sale_post(&app, event, &fan, LOCK, lock_vars(&seats, &lock_key)).await;
    let (_, _, again) = sale_post(&app, event, &fan, LOCK, lock_vars(&seats, &lock_key)).await;
    let hold = first["data"]["lockSeats"]["id"]
        .as_str()
        .expect("a hold")
        .to_owned();
    let book = json!({ "hold": hold, "key": book_key });
    let writes = saturate(&app, Kind::SaleWrites).await;
    let (book_status, _, book_refused) = sale_post(&app, event, &fan, BOOK, book.clone()).await;
    drop(writes);
    let (_, _, booked) = sale_post(&app, event, &fan, BOOK, book.clone()).await;
    let (_, _, booked_again) = sale_post(&app, event, &fan, BOOK, book).await;

    assert_eq!((status, first_error_code(&refused)), (503, Some("BUSY")));
    assert_eq!(again["data"]["lockSeats"]["id"], hold.as_str(), "{again}");
    assert_eq!(
        (book_status, first_error_code(&book_refused)),
        (503, Some("BUSY"))
    );
    let booking = &booked["data"]["createBooking"]["id"];
    assert!(booking.is_string(), "{booked}");
    assert_eq!(&booked_again["data"]["createBooking"]["id"], booking);
    assert_eq!(rows(&app).await, (1, 1), "one hold, one booking");
}

#[tokio::test]
async fn queue_operations_are_answered_while_the_sale_is_saturated() {
    let app = tight_app().await;
    let event = app.seed_event(10).await;
    let token = app.access_token(uuid::Uuid::now_v7(), "FAN");
    let vars = json!({ "e": event.to_string() });
    let _writes = saturate(&app, Kind::SaleWrites).await;
    let _reads = saturate(&app, Kind::SaleReads).await;
    let _public = saturate(&app, Kind::PublicCalls).await;

    let joined = app
        .public_as(
            &token,
            "mutation($e: ID!) { joinQueue(eventId: $e) { state position } }",
            vars.clone(),
        )
        .await;
    let status = app
        .public_as(
            &token,
            "query($e: ID!) { queueStatus(eventId: $e) { state position } }",
            vars.clone(),
        )
        .await;
    let events = app.public("{ events { id } }", json!({})).await;

    assert_eq!(joined["data"]["joinQueue"]["state"], "WAITING", "{joined}");
    assert_eq!(status["data"]["queueStatus"]["position"], 1, "{status}");
    assert_eq!(
        first_error_code(&events),
        Some("BUSY"),
        "other public calls have their own bound"
    );
    let queue = app.instance.state.shed().snapshot().of(Kind::QueueCalls);
    assert_eq!((queue.admitted, queue.shed), (2, 0));
}

#[tokio::test]
async fn the_admins_queue_controls_are_never_shed() {
    let app = tight_app().await;
    let event = app.seed_event(10).await;
    let admin = app.access_token(uuid::Uuid::now_v7(), "ADMIN");
    let _public = saturate(&app, Kind::PublicCalls).await;
    let _queue = saturate(&app, Kind::QueueCalls).await;

    let paused = app
        .public_as(
            &admin,
            "mutation($e: ID!) { pauseQueue(eventId: $e) { paused } }",
            json!({ "e": event.to_string() }),
        )
        .await;

    assert_eq!(paused["data"]["pauseQueue"]["paused"], true, "{paused}");
}

#[tokio::test]
async fn a_shared_seat_map_read_is_shed_with_503_and_retry_after_too() {
    let app = tight_app().await;
    let event = app.seed_event(10).await;
    let fan = admitted(&app, event).await;
    let _reads = saturate(&app, Kind::SaleReads).await;

    // A query for the map alone takes the shared-answer path (`seats::shared`).
    let (status, retry_after, body) =
        sale_post(&app, event, &fan, "{ seatMap { status } }", json!({})).await;

    assert_eq!(status, 503, "{body}");
    assert_eq!(first_error_code(&body), Some("BUSY"), "{body}");
    assert_eq!(retry_after.as_deref(), Some("2"));
}

#[tokio::test]
async fn a_pool_with_no_connection_in_time_answers_busy_not_internal_error_and_changes_nothing() {
    // The shed gate lets everything through; the pool (one connection, held below) is what
    // runs out. Without the mapping a pool timeout would answer INTERNAL_ERROR.
    let app = TestApp::spawn_with(|config| {
        config.db_max_connections = 1;
        config.db_acquire_timeout_ms = 200;
        config.shed_sale_writes = Some(64);
    })
    .await;
    let event = app.seed_event(10).await;
    let fan = admitted(&app, event).await;
    let seats = seat_ids(&app.db.connection, event, 2).await;
    let before = rows(&app).await;
    let held = {
        use sea_orm::TransactionTrait as _;
        app.instance
            .state
            .db()
            .begin()
            .await
            .expect("the pool's one connection")
    };

    let (status, retry_after, body) =
        sale_post(&app, event, &fan, LOCK, lock_vars(&seats, &key())).await;

    assert_eq!(first_error_code(&body), Some("BUSY"), "{body}");
    assert_eq!(status, 503, "{body}");
    assert!(retry_after.is_some(), "{body}");
    assert!(
        body["errors"][0]["extensions"]["retryAfterMs"].as_u64() > Some(0),
        "{body}"
    );
    drop(held);
    assert_eq!(
        rows(&app).await,
        before,
        "a request with no connection changes nothing"
    );
    assert_eq!(seat_status(&app.db.connection, seats[0]).await, "AVAILABLE");
    // Once the connection is back, the same request goes through.
    let (status, _, body) = sale_post(&app, event, &fan, LOCK, lock_vars(&seats, &key())).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("errors").is_none(), "{body}");
}
