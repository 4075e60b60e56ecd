//! Holds, bookings and payments: the race for seats, all-or-nothing holds, the whole paid
//! path, declines, expiry, extension, cancellation and refunds, idempotency, and bad input.

use std::collections::HashSet;

use graphql_api::{
    holds,
    testing::{TestApp, first_error_code},
};
use sea_orm::{ConnectionTrait as _, Statement};
use serde_json::json;

use crate::sale_support::{
    BOOK, LOCK, admitted, assert_invariants, book, card, key, lock, pay, seat_ids, seat_status,
};

#[tokio::test]
async fn five_hundred_fans_racing_for_fifty_seats_leave_exactly_fifty_held_each_once() {
    let app = TestApp::spawn_with(|config| config.db_max_connections = 16).await;
    let event = app.seed_event(200).await;
    let seats = seat_ids(&app.db.connection, event, 50).await;
    let mut fans = Vec::new();
    for _ in 0..500 {
        fans.push(admitted(&app, event).await);
    }

    let attempts = fans.iter().enumerate().map(|(i, fan)| {
        let seat = [seats[i % 50]];
        let app = &app;
        async move { lock(app, event, fan, &seat).await }
    });
    let answers = futures_util::future::join_all(attempts).await;

    let won: Vec<_> = answers
        .iter()
        .filter(|a| a["data"]["lockSeats"]["id"].is_string())
        .collect();
    let lost: Vec<_> = answers
        .iter()
        .filter(|a| a["data"].is_null() || a["data"]["lockSeats"].is_null())
        .collect();
    assert_eq!(won.len(), 50);
    assert_eq!(lost.len(), 450);
    assert!(
        lost.iter()
            .all(|a| first_error_code(a) == Some("SEAT_TAKEN")),
        "every loser got SEAT_TAKEN"
    );
    let holds: HashSet<_> = won
        .iter()
        .map(|a| a["data"]["lockSeats"]["id"].clone())
        .collect();
    assert_eq!(holds.len(), 50, "each seat by a different hold");
    let db = &app.db.connection;
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            sea_orm::DbBackend::Postgres,
            "SELECT count(*) AS held, count(DISTINCT hold_id) AS holds FROM seats WHERE event_id = $1 AND status = 'HELD'",
            [event.into()],
        ))
        .await
        .expect("query")
        .expect("row");
    assert_eq!(row.try_get::<i64>("", "held").expect("held"), 50);
    assert_eq!(row.try_get::<i64>("", "holds").expect("holds"), 50);
    assert_invariants(db, "after the race").await;
}

#[tokio::test]
async fn a_hold_is_all_or_nothing_and_names_the_seats_taken() {
    let app = TestApp::spawn().await;
    let event = app.seed_event(50).await;
    let seats = seat_ids(&app.db.connection, event, 5).await;
    let first = admitted(&app, event).await;
    let second = admitted(&app, event).await;
    lock(&app, event, &first, &[seats[1]]).await;

    let refused = lock(&app, event, &second, &[seats[0], seats[1], seats[2]]).await;

    assert_eq!(first_error_code(&refused), Some("SEAT_TAKEN"), "{refused}");
    assert_eq!(
        refused["errors"][0]["extensions"]["seatIds"],
        json!([seats[1].to_string()])
    );
    assert_eq!(
        seat_status(&app.db.connection, seats[0]).await,
        "AVAILABLE",
        "nothing half-held"
    );
    assert_eq!(seat_status(&app.db.connection, seats[2]).await, "AVAILABLE");
    let mine = app
        .sale_as(&second.token, event, "{ myHold { id } }", json!({}))
        .await;
    assert!(
        mine["data"]["myHold"].is_null(),
        "no hold was left behind: {mine}"
    );
}

#[tokio::test]
async fn bad_hold_requests_get_codes_and_change_nothing() {
    let app = TestApp::spawn().await;
    let event = app.seed_event(50).await;
    let other_event = app.seed_event(10).await;
    let seats = seat_ids(&app.db.connection, event, 10).await;
    let foreign = seat_ids(&app.db.connection, other_event, 1).await;
    let fan = admitted(&app, event).await;
    let stranger = admitted(&app, event).await;
    let theirs = lock(&app, event, &stranger, &[seats[9]]).await;
    let their_hold = theirs["data"]["lockSeats"]["id"]
        .as_str()
        .expect("hold")
        .to_owned();

    let cases = [
        (lock(&app, event, &fan, &foreign).await, "SEAT_NOT_FOUND"),
        (
            lock(&app, event, &fan, &[999_999_999]).await,
            "SEAT_NOT_FOUND",
        ),
        (
            lock(&app, event, &fan, &[seats[0], seats[0]]).await,
            "BAD_USER_INPUT",
        ),
        (
            lock(&app, event, &fan, &seats[..7]).await,
            "HOLD_LIMIT_EXCEEDED",
        ),
        (lock(&app, event, &fan, &[]).await, "BAD_USER_INPUT"),
        (
            app.sale_as(
                &fan.token,
                event,
                "mutation($h: ID!) { releaseSeats(holdId: $h) }",
                json!({ "h": their_hold }),
            )
            .await,
            "HOLD_NOT_FOUND",
        ),
        (
            app.sale_as(
                &fan.token,
                event,
                "mutation($h: ID!) { extendHold(holdId: $h) { id } }",
                json!({ "h": their_hold }),
            )
            .await,
            "HOLD_NOT_FOUND",
        ),
        (book(&app, event, &fan, &their_hold).await, "HOLD_NOT_FOUND"),
    ];
    for (answer, code) in cases {
        assert_eq!(first_error_code(&answer), Some(code), "{answer}");
    }
    let anonymous = app
        .post_json(
            &format!("/sale/{event}/graphql"),
            &json!({ "query": LOCK, "variables": { "seats": [seats[0].to_string()], "key": "k" } }),
        )
        .await;
    assert_eq!(anonymous.0, 401);
    assert_eq!(first_error_code(&anonymous.1), Some("QUEUE_TOKEN_REQUIRED"));
    assert_eq!(seat_status(&app.db.connection, seats[0]).await, "AVAILABLE");
    assert_eq!(
        seat_status(&app.db.connection, seats[9]).await,
        "HELD",
        "the stranger's hold is untouched"
    );
}

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

#[tokio::test]
async fn idempotency_keys_replay_refuse_other_input_and_report_work_in_progress() {
    let app = TestApp::spawn().await;
    let event = app.seed_event(50).await;
    let seats = seat_ids(&app.db.connection, event, 3).await;
    let fan = admitted(&app, event).await;
    let same_key = key();
    let vars = |seat: i64| json!({ "seats": [seat.to_string()], "key": same_key });

    let first = app.sale_as(&fan.token, event, LOCK, vars(seats[0])).await;
    let replay = app.sale_as(&fan.token, event, LOCK, vars(seats[0])).await;
    let other = app.sale_as(&fan.token, event, LOCK, vars(seats[1])).await;
    let hold = first["data"]["lockSeats"]["id"]
        .as_str()
        .expect("hold")
        .to_owned();
    let busy_key = key();
    app.db
        .connection
        .execute_raw(Statement::from_sql_and_values(
            sea_orm::DbBackend::Postgres,
            "INSERT INTO users (id, email, password_hash, display_name) VALUES ($1, $2, 'x', 'Fan') ON CONFLICT DO NOTHING",
            [fan.user.into(), format!("{}@example.com", fan.user.simple()).into()],
        ))
        .await
        .ok();
    let booking_input =
        json!({ "event": event, "hold": hold.parse::<uuid::Uuid>().expect("uuid") });
    app.db
        .connection
        .execute_raw(Statement::from_sql_and_values(
            sea_orm::DbBackend::Postgres,
            "INSERT INTO idempotency_records (user_id, key, operation, request_hash, status, expires_at) \
             VALUES ($1, $2, 'createBooking', $3, 'IN_PROGRESS', now() + interval '1 day')",
            [fan.user.into(), busy_key.clone().into(), graphql_api::idempotency::fingerprint("createBooking", &booking_input).into()],
        ))
        .await
        .expect("a running request");
    let busy = app
        .sale_as(
            &fan.token,
            event,
            BOOK,
            json!({ "hold": hold, "key": busy_key }),
        )
        .await;

    assert_eq!(
        replay["data"]["lockSeats"]["id"], first["data"]["lockSeats"]["id"],
        "{replay}"
    );
    assert_eq!(
        first_error_code(&other),
        Some("IDEMPOTENCY_KEY_REUSED"),
        "{other}"
    );
    assert_eq!(
        first_error_code(&busy),
        Some("IDEMPOTENCY_IN_PROGRESS"),
        "{busy}"
    );
    assert_eq!(seat_status(&app.db.connection, seats[1]).await, "AVAILABLE");
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
