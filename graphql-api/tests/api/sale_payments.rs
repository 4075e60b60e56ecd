//! Bookings and payments: the whole paid path, declines, timeouts, malformed details, and
//! buying with an access token where there is no queue.

use graphql_api::{
    queue,
    testing::{TestApp, first_error_code},
};
use serde_json::json;

use crate::{
    queue_support,
    sale_support::{
        Fan, LOCK, PAY, admitted, assert_invariants, book, card, hold_and_book, key, lock, pay,
        scalar, seat_ids, seat_status,
    },
};

#[tokio::test]
async fn a_fan_holds_books_and_pays_and_the_seats_are_theirs() {
    let app = TestApp::spawn().await;
    let event = app.seed_event(100).await;
    let seats = seat_ids(&app.db.connection, event, 3).await;
    let fan = admitted(&app, event).await;

    let held = lock(&app, event, &fan, &seats).await;
    let hold = held["data"]["lockSeats"]["id"]
        .as_str()
        .expect("hold")
        .to_owned();
    let booking = book(&app, event, &fan, &hold).await;
    let booking_id = booking["data"]["createBooking"]["id"]
        .as_str()
        .expect("booking")
        .to_owned();
    let paid = pay(
        &app,
        event,
        &fan,
        &booking_id,
        "CARD",
        card("4111 1111 1111 1111"),
    )
    .await;
    let twice = pay(
        &app,
        event,
        &fan,
        &booking_id,
        "UPI",
        json!({ "upi": { "vpa": "fan@okicici" } }),
    )
    .await;
    let access = app.access_token(fan.user, "FAN");
    let mine = app
        .public_as(
            &access,
            "{ myBookings { reference status total { amountMinor } seats { id status } } }",
            json!({}),
        )
        .await;

    // Platinum seats: 3 x INR 12,500, computed on the server.
    assert_eq!(
        booking["data"]["createBooking"]["total"]["amountMinor"],
        3 * 1_250_000,
        "{booking}"
    );
    assert_eq!(
        booking["data"]["createBooking"]["status"],
        "PENDING_PAYMENT"
    );
    assert_eq!(
        paid["data"]["confirmPayment"]["booking"]["status"], "CONFIRMED",
        "{paid}"
    );
    assert_eq!(
        paid["data"]["confirmPayment"]["payment"]["status"],
        "SUCCEEDED"
    );
    assert!(
        paid["data"]["confirmPayment"]["booking"]["seats"]
            .as_array()
            .expect("seats")
            .iter()
            .all(|s| s["status"] == "BOOKED")
    );
    assert_eq!(first_error_code(&twice), Some("ALREADY_PAID"), "{twice}");
    assert_eq!(
        mine["data"]["myBookings"][0]["status"], "CONFIRMED",
        "{mine}"
    );
    assert_eq!(
        mine["data"]["myBookings"][0]["reference"],
        booking["data"]["createBooking"]["reference"]
    );
    for seat in &seats {
        assert_eq!(seat_status(&app.db.connection, *seat).await, "BOOKED");
    }
    assert_invariants(&app.db.connection, "after a purchase").await;
}

#[tokio::test]
async fn a_declined_payment_can_be_retried_while_the_hold_lives() {
    let app = TestApp::spawn().await;
    let event = app.seed_event(50).await;
    let seats = seat_ids(&app.db.connection, event, 1).await;
    let fan = admitted(&app, event).await;
    let hold = lock(&app, event, &fan, &seats).await["data"]["lockSeats"]["id"]
        .as_str()
        .expect("hold")
        .to_owned();
    let booking = book(&app, event, &fan, &hold).await["data"]["createBooking"]["id"]
        .as_str()
        .expect("booking")
        .to_owned();

    let declined = pay(
        &app,
        event,
        &fan,
        &booking,
        "CARD",
        card("4000 0000 0000 0002"),
    )
    .await;
    let after_decline = app
        .sale_as(
            &fan.token,
            event,
            "query($b: ID!) { booking(id: $b) { status payments { status failureCode } } }",
            json!({ "b": booking }),
        )
        .await;
    let upi_declined = pay(
        &app,
        event,
        &fan,
        &booking,
        "UPI",
        json!({ "upi": { "vpa": "failure@upi" } }),
    )
    .await;
    let retried = pay(
        &app,
        event,
        &fan,
        &booking,
        "NET_BANKING",
        json!({ "netBanking": { "bankCode": "HDFC" } }),
    )
    .await;

    assert_eq!(
        first_error_code(&declined),
        Some("PAYMENT_DECLINED"),
        "{declined}"
    );
    assert_eq!(
        after_decline["data"]["booking"]["status"], "PAYMENT_FAILED",
        "{after_decline}"
    );
    assert_eq!(
        after_decline["data"]["booking"]["payments"][0]["failureCode"],
        "PAYMENT_DECLINED"
    );
    assert_eq!(first_error_code(&upi_declined), Some("PAYMENT_DECLINED"));
    assert_eq!(
        retried["data"]["confirmPayment"]["booking"]["status"], "CONFIRMED",
        "{retried}"
    );
    assert_invariants(&app.db.connection, "after a decline and a retry").await;
}

#[tokio::test]
async fn a_payment_that_times_out_charges_nothing_and_answers_in_time() {
    let app = TestApp::spawn_with(|config| config.payment_timeout_ms = 200).await;
    let event = app.seed_event(50).await;
    let seats = seat_ids(&app.db.connection, event, 1).await;
    let fan = admitted(&app, event).await;
    let hold = lock(&app, event, &fan, &seats).await["data"]["lockSeats"]["id"]
        .as_str()
        .expect("hold")
        .to_owned();
    let booking = book(&app, event, &fan, &hold).await["data"]["createBooking"]["id"]
        .as_str()
        .expect("booking")
        .to_owned();

    let started = std::time::Instant::now();
    let timed_out = pay(
        &app,
        event,
        &fan,
        &booking,
        "UPI",
        json!({ "upi": { "vpa": "timeout@upi" } }),
    )
    .await;

    assert_eq!(
        first_error_code(&timed_out),
        Some("PAYMENT_TIMEOUT"),
        "{timed_out}"
    );
    assert!(started.elapsed() >= std::time::Duration::from_millis(200));
    assert_eq!(
        seat_status(&app.db.connection, seats[0]).await,
        "HELD",
        "still held for a retry"
    );
    assert_invariants(&app.db.connection, "after a timeout").await;
}

#[tokio::test]
async fn malformed_payment_details_are_refused_and_change_nothing() {
    let app = TestApp::spawn().await;
    let event = app.seed_event(50).await;
    let seats = seat_ids(&app.db.connection, event, 1).await;
    let fan = admitted(&app, event).await;
    let hold = lock(&app, event, &fan, &seats).await["data"]["lockSeats"]["id"]
        .as_str()
        .expect("hold")
        .to_owned();
    let booking = book(&app, event, &fan, &hold).await["data"]["createBooking"]["id"]
        .as_str()
        .expect("booking")
        .to_owned();

    for (method, details) in [
        ("CARD", card("1234 5678 9012 3456")),
        ("UPI", json!({ "upi": { "vpa": "nope" } })),
        (
            "NET_BANKING",
            json!({ "netBanking": { "bankCode": "ZZZZ" } }),
        ),
        ("CARD", json!({ "upi": { "vpa": "fan@upi" } })),
    ] {
        let answer = pay(&app, event, &fan, &booking, method, details).await;
        assert_eq!(
            first_error_code(&answer),
            Some("INVALID_PAYMENT_DETAILS"),
            "{answer}"
        );
    }
    let status = app
        .sale_as(
            &fan.token,
            event,
            "query($b: ID!) { booking(id: $b) { status payments { id } } }",
            json!({ "b": booking }),
        )
        .await;
    assert_eq!(status["data"]["booking"]["status"], "PENDING_PAYMENT");
    assert_eq!(
        status["data"]["booking"]["payments"],
        json!([]),
        "no payment was even attempted"
    );
}

#[tokio::test]
async fn on_an_ungated_event_a_signed_in_fan_buys_with_their_access_token() {
    let app = TestApp::spawn().await;
    let mut spec = graphql_api::seed::load_test_spec(100);
    spec.slug = "small-club-night".into();
    spec.gate_enabled = false;
    let event = graphql_api::seed::seed_event(&app.db.connection, &spec)
        .await
        .expect("seed")
        .event_id;
    let seats = seat_ids(&app.db.connection, event, 1).await;
    let user = uuid::Uuid::now_v7();
    app.ensure_user(user).await;
    let fan = crate::sale_support::Fan {
        user,
        token: app.access_token(user, "FAN"),
    };

    let anonymous_read = app
        .post_json(
            &format!("/sale/{event}/graphql"),
            &json!({ "query": "{ availability { total } }" }),
        )
        .await;
    let anonymous_lock = app
        .post_json(
            &format!("/sale/{event}/graphql"),
            &json!({ "query": LOCK, "variables": { "seats": [seats[0].to_string()], "key": "k" } }),
        )
        .await;
    let held = lock(&app, event, &fan, &seats).await;

    assert_eq!(anonymous_read.1["data"]["availability"]["total"], 100);
    assert_eq!(first_error_code(&anonymous_lock.1), Some("UNAUTHENTICATED"));
    assert!(held["data"]["lockSeats"]["id"].is_string(), "{held}");
}

/// A fan let in by the queue itself (joined, admitted by a tick), so that buying ends a real
/// admission.
async fn admitted_by_the_queue(app: &TestApp, event: i64) -> Fan {
    let state = &app.instance.state;
    let model = queue_support::event(state, event).await;
    queue_support::set_limits(state, event, 100.0, 10).await;
    let identity = queue_support::fan();
    app.ensure_user(identity.user_id).await;
    queue::join(state, &model, &identity).await.expect("join");
    let admitted = queue_support::admit_all(state, &queue_support::active(&model), 1, 50).await;
    assert_eq!(admitted, vec![identity.fan_key()], "the fan was let in");
    let status = queue::status(state, &model, &identity)
        .await
        .expect("status");
    Fan {
        user: identity.user_id,
        token: status.admission.expect("an admission").token,
    }
}

#[tokio::test]
async fn a_purchase_whose_answer_was_lost_replays_to_its_retry_though_the_admission_ended() {
    let app = TestApp::spawn().await;
    let event = app.seed_event(20).await;
    let seats = seat_ids(&app.db.connection, event, 2).await;
    let fan = admitted_by_the_queue(&app, event).await;
    let booking = hold_and_book(&app, event, &fan, &seats).await["id"]
        .as_str()
        .expect("a booking")
        .to_owned();
    let request = json!({
        "query": PAY,
        "variables": { "booking": booking, "method": "CARD", "details": card("4111111111111111"), "key": key() },
    });
    let confirm_on = |base: String| {
        let (token, request) = (fan.token.clone(), request.clone());
        async move {
            reqwest::Client::new()
                .post(format!("{base}/sale/{event}/graphql"))
                .bearer_auth(token)
                .json(&request)
                .send()
                .await
                .expect("an answer")
                .json::<serde_json::Value>()
                .await
                .expect("JSON")
        }
    };
    // The retry lands on another instance, as when the first one was killed: nothing of the
    // first attempt is cached there.
    let other = app.spawn_instance(|_| {}).await;

    // The answer of the first attempt is lost on the way (a connection cut, an instance
    // killed): the client sends the same request again, with the same key.
    let first = confirm_on(app.base_url()).await;
    let state = &app.instance.state;
    let model = queue_support::event(state, event).await;
    let identity = graphql_api::auth::Identity {
        user_id: fan.user,
        role: entities::user::Role::Fan,
    };
    let after_purchase = queue::status(state, &model, &identity)
        .await
        .expect("status");
    let retried = confirm_on(other.base_url()).await;
    let new_hold = lock(&app, event, &fan, &seats[..1]).await;

    assert_eq!(
        first["data"]["confirmPayment"]["payment"]["status"], "SUCCEEDED",
        "{first}"
    );
    assert_eq!(
        after_purchase.state,
        queue::QueueState::Completed,
        "buying ended the admission: the slot went to the next fan"
    );
    assert_eq!(
        queue_support::admitted_now(state, event).await,
        0,
        "nobody counts against the cap"
    );
    assert_eq!(
        retried["data"]["confirmPayment"], first["data"]["confirmPayment"],
        "the retry gets the purchase it made, not TOKEN_REVOKED: {retried}"
    );
    assert_eq!(
        first_error_code(&new_hold),
        Some("SEAT_TAKEN"),
        "{new_hold}"
    );
    assert_eq!(
        scalar(
            &app.db.connection,
            &format!("SELECT count(*) FROM payments WHERE booking_id = '{booking}'")
        )
        .await,
        1,
        "one payment"
    );
    assert_invariants(&app.db.connection, "after a replayed purchase").await;
}
