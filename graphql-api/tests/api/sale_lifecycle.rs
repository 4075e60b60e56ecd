//! A hold after it is made: expiry (before and by the sweep), extension, and cancellation
//! with refunds.

use graphql_api::{
    holds,
    testing::{TestApp, first_error_code},
};
use serde_json::json;

use crate::sale_support::{
    admitted, assert_invariants, book, card, lock, pay, seat_ids, seat_status,
};

#[tokio::test]
async fn an_expired_hold_frees_its_seats_even_before_the_sweep_and_cannot_be_paid() {
    let app = TestApp::spawn_with(|config| config.hold_duration_secs = 1).await;
    let event = app.seed_event(50).await;
    let seats = seat_ids(&app.db.connection, event, 2).await;
    let slow = admitted(&app, event).await;
    let quick = admitted(&app, event).await;
    let hold = lock(&app, event, &slow, &seats).await["data"]["lockSeats"]["id"]
        .as_str()
        .expect("hold")
        .to_owned();
    let booking = book(&app, event, &slow, &hold).await["data"]["createBooking"]["id"]
        .as_str()
        .expect("booking")
        .to_owned();

    tokio::time::sleep(std::time::Duration::from_millis(1_200)).await;
    let taken_over = lock(&app, event, &quick, &seats[..1]).await;
    let late = pay(
        &app,
        event,
        &slow,
        &booking,
        "CARD",
        card("4111111111111111"),
    )
    .await;
    let swept = holds::expiry::sweep(&app.instance.state, 100)
        .await
        .expect("sweep");

    assert!(
        taken_over["data"]["lockSeats"]["id"].is_string(),
        "a run-out hold is free at once: {taken_over}"
    );
    assert_eq!(first_error_code(&late), Some("HOLD_EXPIRED"), "{late}");
    assert_eq!(swept, 1);
    assert_eq!(seat_status(&app.db.connection, seats[1]).await, "AVAILABLE");
    let booking_now = app
        .sale_as(
            &slow.token,
            event,
            "query($b: ID!) { booking(id: $b) { status } }",
            json!({ "b": booking }),
        )
        .await;
    assert_eq!(
        booking_now["data"]["booking"]["status"], "EXPIRED",
        "{booking_now}"
    );
    assert_invariants(&app.db.connection, "after expiry").await;
}

#[tokio::test]
async fn the_expiry_worker_releases_a_run_out_hold_within_about_a_second() {
    let app = TestApp::spawn_with(|config| {
        config.hold_duration_secs = 1;
        config.workers_enabled = true;
        config.hold_sweep_ms = 100;
    })
    .await;
    let event = app.seed_event(20).await;
    let seats = seat_ids(&app.db.connection, event, 1).await;
    let fan = admitted(&app, event).await;
    lock(&app, event, &fan, &seats).await;

    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while seat_status(&app.db.connection, seats[0]).await != "AVAILABLE" {
        assert!(
            std::time::Instant::now() < deadline,
            "the worker never released the hold"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_hold_extends_once() {
    let app = TestApp::spawn().await;
    let event = app.seed_event(50).await;
    let seats = seat_ids(&app.db.connection, event, 1).await;
    let fan = admitted(&app, event).await;
    let held = lock(&app, event, &fan, &seats).await;
    let hold = held["data"]["lockSeats"]["id"]
        .as_str()
        .expect("hold")
        .to_owned();
    let extend = "mutation($h: ID!) { extendHold(holdId: $h) { expiresAt extensionsLeft } }";

    let once = app
        .sale_as(&fan.token, event, extend, json!({ "h": hold }))
        .await;
    let twice = app
        .sale_as(&fan.token, event, extend, json!({ "h": hold }))
        .await;

    let before = chrono::DateTime::parse_from_rfc3339(
        held["data"]["lockSeats"]["expiresAt"].as_str().expect("t"),
    )
    .expect("date");
    let after = chrono::DateTime::parse_from_rfc3339(
        once["data"]["extendHold"]["expiresAt"].as_str().expect("t"),
    )
    .expect("date");
    assert_eq!((after - before).num_seconds(), 300, "{once}");
    assert_eq!(once["data"]["extendHold"]["extensionsLeft"], 0);
    assert_eq!(first_error_code(&twice), Some("EXTENSION_USED"));
}

#[tokio::test]
async fn cancelling_frees_unpaid_seats_and_refunds_paid_ones() {
    let app = TestApp::spawn().await;
    let event = app.seed_event(50).await;
    let seats = seat_ids(&app.db.connection, event, 2).await;
    let fan = admitted(&app, event).await;
    let cancel =
        "mutation($b: ID!) { cancelBooking(bookingId: $b) { status payments { status } } }";
    let hold = lock(&app, event, &fan, &seats[..1]).await["data"]["lockSeats"]["id"]
        .as_str()
        .expect("hold")
        .to_owned();
    let unpaid = book(&app, event, &fan, &hold).await["data"]["createBooking"]["id"]
        .as_str()
        .expect("b")
        .to_owned();

    let cancelled = app
        .sale_as(&fan.token, event, cancel, json!({ "b": unpaid }))
        .await;
    assert_eq!(
        cancelled["data"]["cancelBooking"]["status"], "CANCELLED",
        "{cancelled}"
    );
    assert_eq!(seat_status(&app.db.connection, seats[0]).await, "AVAILABLE");

    let hold = lock(&app, event, &fan, &seats[1..]).await["data"]["lockSeats"]["id"]
        .as_str()
        .expect("hold")
        .to_owned();
    let paid = book(&app, event, &fan, &hold).await["data"]["createBooking"]["id"]
        .as_str()
        .expect("b")
        .to_owned();
    pay(&app, event, &fan, &paid, "CARD", card("4111111111111111")).await;
    let access = app.access_token(fan.user, "FAN");
    let refunded = app.public_as(&access, cancel, json!({ "b": paid })).await;
    let again = app.public_as(&access, cancel, json!({ "b": paid })).await;

    assert_eq!(
        refunded["data"]["cancelBooking"]["status"], "REFUNDED",
        "{refunded}"
    );
    assert_eq!(
        refunded["data"]["cancelBooking"]["payments"][0]["status"],
        "REFUNDED"
    );
    assert_eq!(seat_status(&app.db.connection, seats[1]).await, "AVAILABLE");
    assert_eq!(
        again["data"]["cancelBooking"]["status"], "REFUNDED",
        "cancelling twice changes nothing"
    );
    assert_invariants(&app.db.connection, "after a refund").await;
}
