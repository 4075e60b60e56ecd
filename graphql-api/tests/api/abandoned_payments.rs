//! Payments left PENDING by an instance that stopped between recording a payment and
//! settling it: the expiry worker settles them as timed out, so the fan can pay again.

use std::time::{Duration, Instant};

use entities::booking;
use graphql_api::{payments, testing::TestApp};
use sea_orm::{ConnectionTrait as _, DatabaseConnection, EntityTrait as _, Statement};
use serde_json::json;
use uuid::Uuid;

use crate::sale_support::{
    Fan, admitted, assert_invariants, card, hold_and_book, pay, seat_ids, seat_status,
};

/// A booking awaiting payment on one seat: (event, fan's token, booking id, seat).
async fn awaiting_payment(app: &TestApp) -> (i64, Fan, String, i64) {
    let event = app.seed_event(20).await;
    let seats = seat_ids(&app.db.connection, event, 1).await;
    let fan = admitted(app, event).await;
    let booking = hold_and_book(app, event, &fan, &seats).await["id"]
        .as_str()
        .expect("booking")
        .to_owned();
    (event, fan, booking, seats[0])
}

/// Pays the booking with a card that succeeds; the `confirmPayment` answer.
async fn pay_by_card(app: &TestApp, event: i64, fan: &Fan, booking: &str) -> serde_json::Value {
    let paid = pay(app, event, fan, booking, "CARD", card("4111111111111111")).await;
    assert_eq!(
        paid["data"]["confirmPayment"]["booking"]["status"], "CONFIRMED",
        "{paid}"
    );
    paid["data"]["confirmPayment"].clone()
}

/// Records a PENDING payment for the booking with `payments::start`, dated `age` ago.
async fn pending_payment(app: &TestApp, booking: &str, age: Duration) -> Uuid {
    let db = &app.db.connection;
    let found = booking::Entity::find_by_id(Uuid::parse_str(booking).expect("booking id"))
        .one(db)
        .await
        .expect("query")
        .expect("booking row");
    let id = payments::start(&app.instance.state, &found, payments::PaymentMethod::Card)
        .await
        .expect("start a payment");
    db.execute_raw(Statement::from_sql_and_values(
        db.get_database_backend(),
        "UPDATE payments SET created_at = now() - make_interval(secs => $2) WHERE id = $1",
        [id.into(), age.as_secs_f64().into()],
    ))
    .await
    .expect("date the payment");
    id
}

/// (status, failure code) of a payment.
async fn payment_state(db: &DatabaseConnection, id: Uuid) -> (String, Option<String>) {
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            "SELECT status, failure_code FROM payments WHERE id = $1",
            [id.into()],
        ))
        .await
        .expect("query")
        .expect("payment row");
    (
        row.try_get("", "status").expect("status"),
        row.try_get("", "failure_code").expect("failure code"),
    )
}

#[tokio::test]
async fn a_payment_abandoned_mid_flight_is_settled_as_timed_out_and_the_fan_can_pay_again() {
    let app = TestApp::spawn().await;
    let (event, fan, booking, seat) = awaiting_payment(&app).await;
    let db = &app.db.connection;
    let abandoned = pending_payment(&app, &booking, Duration::from_secs(600)).await;
    let in_flight = pending_payment(&app, &booking, Duration::ZERO).await;

    let settled = payments::sweep_abandoned(&app.instance.state, Duration::from_secs(120), 100)
        .await
        .expect("sweep");

    assert_eq!(settled, 1, "only the payment older than the threshold");
    assert_eq!(
        payment_state(db, abandoned).await,
        ("FAILED".to_owned(), Some("PAYMENT_TIMEOUT".to_owned()))
    );
    assert_eq!(
        payment_state(db, in_flight).await,
        ("PENDING".to_owned(), None),
        "a payment still within its time is left to its own answer"
    );
    let seen = app
        .sale_as(
            &fan.token,
            event,
            "query($b: ID!) { booking(id: $b) { status payments { id status failureCode } } }",
            json!({ "b": booking }),
        )
        .await;
    assert_eq!(
        seen["data"]["booking"]["status"], "PAYMENT_FAILED",
        "{seen}"
    );
    let shown = seen["data"]["booking"]["payments"]
        .as_array()
        .expect("payments")
        .iter()
        .find(|payment| payment["id"] == abandoned.to_string())
        .cloned();
    assert_eq!(
        shown,
        Some(
            json!({ "id": abandoned.to_string(), "status": "FAILED", "failureCode": "PAYMENT_TIMEOUT" })
        ),
        "the fan sees why: {seen}"
    );
    assert_eq!(
        seat_status(db, seat).await,
        "HELD",
        "the hold still keeps the seat"
    );

    let again = payments::sweep_abandoned(&app.instance.state, Duration::from_secs(120), 100)
        .await
        .expect("second sweep");
    assert_eq!(again, 0, "a settled payment is not settled twice");

    pay_by_card(&app, event, &fan, &booking).await;
    assert_eq!(seat_status(db, seat).await, "BOOKED");
    assert_invariants(db, "after an abandoned payment and a retry").await;
}

#[tokio::test]
async fn a_late_sweep_leaves_a_payment_its_answer_settled() {
    let app = TestApp::spawn().await;
    let (event, fan, booking, _) = awaiting_payment(&app).await;
    let paid = pay_by_card(&app, event, &fan, &booking).await;
    let db = &app.db.connection;
    // Make the settled payment look old: the sweep must still leave it alone.
    db.execute_raw(Statement::from_string(
        db.get_database_backend(),
        "UPDATE payments SET created_at = now() - interval '1 hour'",
    ))
    .await
    .expect("age the payment");

    let settled = payments::sweep_abandoned(&app.instance.state, Duration::from_secs(60), 100)
        .await
        .expect("sweep");

    assert_eq!(settled, 0);
    let id = Uuid::parse_str(paid["payment"]["id"].as_str().expect("payment id")).expect("uuid");
    assert_eq!(payment_state(db, id).await, ("SUCCEEDED".to_owned(), None));
    assert_invariants(db, "after a sweep over a paid booking").await;
}

#[tokio::test]
async fn the_expiry_worker_settles_abandoned_payments_on_its_own() {
    let app = TestApp::spawn_with(|config| {
        config.workers_enabled = true;
        config.payment_abandon_secs = 1;
        config.payment_timeout_ms = 200;
        config.hold_sweep_ms = 100;
    })
    .await;
    let (_, _, booking, _) = awaiting_payment(&app).await;
    let db = &app.db.connection;
    let abandoned = pending_payment(&app, &booking, Duration::from_secs(30)).await;

    let deadline = Instant::now() + Duration::from_secs(10);
    let state = loop {
        let state = payment_state(db, abandoned).await;
        if state.0 != "PENDING" || Instant::now() > deadline {
            break state;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };

    assert_eq!(
        state,
        ("FAILED".to_owned(), Some("PAYMENT_TIMEOUT".to_owned())),
        "the worker (threshold 1 s, a pass every ~0.5 s) settled it within 10 s"
    );
}
