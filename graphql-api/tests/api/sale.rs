//! Holds: the race for seats, all-or-nothing holds, bad hold requests, and idempotency keys.

use std::collections::HashSet;

use graphql_api::testing::{TestApp, first_error_code};
use sea_orm::{ConnectionTrait as _, Statement, TransactionTrait as _};
use serde_json::json;

use crate::sale_support::{
    BOOK, LOCK, admitted, assert_invariants, book, key, lock, scalar, seat_ids, seat_status,
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
async fn one_key_sent_eight_times_at_once_makes_one_hold_and_one_booking() {
    let app = TestApp::spawn_with(|config| config.db_max_connections = 8).await;
    let event = app.seed_event(20).await;
    let seats = seat_ids(&app.db.connection, event, 2).await;
    let fan = admitted(&app, event).await;
    let ids: Vec<String> = seats.iter().map(i64::to_string).collect();
    let hold_key = key();
    let answers = futures_util::future::join_all((0..8).map(|_| {
        app.sale_as(
            &fan.token,
            event,
            LOCK,
            json!({ "seats": ids, "key": hold_key }),
        )
    }))
    .await;
    let made: HashSet<_> = answers
        .iter()
        .filter_map(|a| a["data"]["lockSeats"]["id"].as_str())
        .collect();
    assert_eq!(made.len(), 1, "one hold for one key: {answers:?}");
    assert!(
        answers
            .iter()
            .all(|a| a["data"]["lockSeats"]["id"].is_string()
                || first_error_code(a) == Some("IDEMPOTENCY_IN_PROGRESS")),
        "a copy replays the hold or says the first is running: {answers:?}"
    );
    let hold = made.into_iter().next().expect("a hold").to_owned();

    let booking_key = key();
    let answers = futures_util::future::join_all((0..8).map(|_| {
        app.sale_as(
            &fan.token,
            event,
            BOOK,
            json!({ "hold": hold, "key": booking_key }),
        )
    }))
    .await;
    let made: HashSet<_> = answers
        .iter()
        .filter_map(|a| a["data"]["createBooking"]["id"].as_str())
        .collect();
    assert_eq!(made.len(), 1, "one booking for one key: {answers:?}");
    let db = &app.db.connection;
    let count = |sql: &'static str| async move {
        db.query_one_raw(Statement::from_sql_and_values(
            sea_orm::DbBackend::Postgres,
            sql,
            [event.into()],
        ))
        .await
        .expect("query")
        .expect("row")
        .try_get::<i64>("", "n")
        .expect("n")
    };
    assert_eq!(
        count("SELECT count(*) AS n FROM holds WHERE event_id = $1").await,
        1
    );
    assert_eq!(
        count("SELECT count(*) AS n FROM bookings WHERE event_id = $1").await,
        1
    );
    assert_invariants(db, "one key sent eight times").await;
}

/// A seat another fan held when a `lockSeats` statement began, released while it waited for
/// the seat's row lock: the statement decides on the seat as it is after the wait (free) and
/// must hold it then, not commit a hold without its seat (the statement's snapshot still saw
/// the seat held). The wait is made certain by a transaction that keeps the seat locked until
/// the `lockSeats` statement is seen waiting.
#[tokio::test]
async fn a_seat_released_while_a_hold_waits_for_it_is_held_whole_never_half() {
    let app = TestApp::spawn().await;
    let event = app.seed_event(10).await;
    let seat = seat_ids(&app.db.connection, event, 1).await[0];
    let first = admitted(&app, event).await;
    let second = admitted(&app, event).await;
    let held = lock(&app, event, &first, &[seat]).await;
    let first_hold = held["data"]["lockSeats"]["id"]
        .as_str()
        .expect("the first fan's hold")
        .to_owned();

    // A transaction of the test's own locks the seat, so the second fan's statement waits.
    let blocker = app.db.connection.begin().await.expect("begin");
    let sql = |sql: String| Statement::from_string(sea_orm::DbBackend::Postgres, sql);
    blocker
        .execute_raw(sql(format!(
            "SELECT id FROM seats WHERE id = {seat} FOR UPDATE"
        )))
        .await
        .expect("locking the seat");
    let racing = {
        let (app, second) = (&app, &second);
        async move { lock(app, event, second, &[seat]).await }
    };
    let release = async {
        // Until the second fan's statement waits for the seat's lock (its snapshot is taken).
        for _ in 0..600 {
            let waiting = scalar(
                &app.db.connection,
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' \
                 AND query LIKE 'WITH prior AS%'",
            )
            .await;
            if waiting > 0 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        blocker
            .execute_raw(sql(format!(
                "UPDATE seats SET status = 'AVAILABLE', hold_id = NULL, held_until = NULL, \
                 version = version + 1 WHERE id = {seat}"
            )))
            .await
            .expect("releasing the seat");
        blocker
            .execute_raw(sql(format!(
                "UPDATE holds SET status = 'RELEASED', ended_at = now() WHERE id = '{first_hold}'"
            )))
            .await
            .expect("ending the first hold");
        blocker.commit().await.expect("commit");
    };
    let (answer, ()) = tokio::join!(racing, release);

    assert!(answer.get("errors").is_none(), "{answer}");
    let hold = answer["data"]["lockSeats"]["id"].as_str().expect("a hold");
    assert_eq!(
        answer["data"]["lockSeats"]["seats"][0]["id"],
        seat.to_string(),
        "{answer}"
    );
    let owner = scalar_text(
        &app.db.connection,
        &format!("SELECT hold_id::text FROM seats WHERE id = {seat}"),
    )
    .await;
    assert_eq!(owner, hold, "the seat is held by the new hold");
    let seatless = scalar(
        &app.db.connection,
        "SELECT count(*) FROM holds h WHERE h.status = 'ACTIVE' \
         AND NOT EXISTS (SELECT 1 FROM seats s WHERE s.hold_id = h.id)",
    )
    .await;
    assert_eq!(seatless, 0, "an active hold without its seats");
    assert_invariants(&app.db.connection, "after the released seat was held").await;
}

async fn scalar_text(db: &sea_orm::DatabaseConnection, sql: &str) -> String {
    db.query_one_raw(Statement::from_string(
        sea_orm::DbBackend::Postgres,
        sql.to_owned(),
    ))
    .await
    .expect("query")
    .expect("row")
    .try_get_by_index::<String>(0)
    .expect("value")
}
