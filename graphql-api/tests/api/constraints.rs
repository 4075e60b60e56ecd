//! The database itself refuses every state in which a seat could be sold twice.

use graphql_api::testing::TestDb;
use sea_orm::{ConnectionTrait as _, DatabaseConnection, DbErr, Statement};
use uuid::Uuid;

use crate::support::{first_seat_ids, hold_seats, insert_user};

async fn exec(db: &DatabaseConnection, sql: &str) -> Result<u64, DbErr> {
    db.execute_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .map(|r| r.rows_affected())
}

fn violates(result: Result<u64, DbErr>, constraint: &str) {
    match result {
        Err(error) => assert!(
            error.to_string().contains(constraint),
            "expected {constraint}, got {error}"
        ),
        Ok(rows) => panic!("expected {constraint} to refuse, but {rows} rows changed"),
    }
}

struct World {
    db: TestDb,
    event: i64,
    seats: Vec<i64>,
    fan: Uuid,
}

async fn world() -> World {
    let db = TestDb::new().await;
    let event =
        graphql_api::seed::seed_event(&db.connection, &graphql_api::seed::load_test_spec(100))
            .await
            .expect("seed")
            .event_id;
    let seats = first_seat_ids(&db.connection, event, 10).await;
    let fan = insert_user(&db.connection, "fan@example.com").await;
    World {
        db,
        event,
        seats,
        fan,
    }
}

/// Makes a booking of `seats` (PENDING_PAYMENT) with its booking_seats rows.
async fn booking(w: &World, seats: &[i64]) -> Uuid {
    let id = Uuid::now_v7();
    let db = &w.db.connection;
    exec(db, &format!(
        "INSERT INTO bookings (id, reference, event_id, user_id, amount_minor, currency, payment_intent) \
         VALUES ('{id}', 'REF-{}', {}, '{}', 0, 'INR', 'pi_{id}')", id.simple(), w.event, w.fan
    ))
    .await
    .expect("booking");
    for seat in seats {
        exec(db, &format!(
            "INSERT INTO booking_seats (booking_id, seat_id, event_id, price_minor) VALUES ('{id}', {seat}, {}, 0)",
            w.event
        ))
        .await
        .expect("booking seat");
    }
    id
}

#[tokio::test]
async fn a_seat_cannot_be_held_without_a_hold() {
    let w = world().await;

    let result = exec(
        &w.db.connection,
        &format!("UPDATE seats SET status = 'HELD' WHERE id = {}", w.seats[0]),
    )
    .await;

    violates(result, "seats_held_iff_hold");
}

#[tokio::test]
async fn a_seat_cannot_point_at_a_hold_that_is_not_active() {
    let w = world().await;
    let db = &w.db.connection;
    let hold = hold_seats(db, w.event, w.fan, &w.seats[..1], 600).await;
    exec(db, &format!("UPDATE seats SET status = 'AVAILABLE', hold_id = NULL, held_until = NULL WHERE hold_id = '{hold}'"))
        .await
        .expect("release");
    exec(
        db,
        &format!("UPDATE holds SET status = 'RELEASED', ended_at = now() WHERE id = '{hold}'"),
    )
    .await
    .expect("end");

    let result = exec(db, &format!(
        "UPDATE seats SET status = 'HELD', hold_id = '{hold}', held_until = now() + interval '1 minute' WHERE id = {}",
        w.seats[1]
    ))
    .await;

    violates(result, "seats_hold_is_active");
}

#[tokio::test]
async fn a_hold_cannot_end_while_seats_still_point_at_it() {
    let w = world().await;
    let hold = hold_seats(&w.db.connection, w.event, w.fan, &w.seats[..2], 600).await;

    let result = exec(
        &w.db.connection,
        &format!("UPDATE holds SET status = 'EXPIRED', ended_at = now() WHERE id = '{hold}'"),
    )
    .await;

    violates(result, "seats_hold_is_active");
}

#[tokio::test]
async fn a_hold_cannot_cover_a_seat_of_another_event() {
    let w = world().await;
    let db = &w.db.connection;
    let mut spec = graphql_api::seed::load_test_spec(100);
    spec.slug = "another".to_owned();
    let other_event = graphql_api::seed::seed_event(db, &spec)
        .await
        .expect("seed")
        .event_id;
    let other_seat = first_seat_ids(db, other_event, 1).await[0];
    let hold = hold_seats(db, w.event, w.fan, &w.seats[..1], 600).await;

    let result = exec(db, &format!(
        "UPDATE seats SET status = 'HELD', hold_id = '{hold}', held_until = now() + interval '1 minute' WHERE id = {other_seat}"
    ))
    .await;

    violates(result, "seats_hold_is_active");
}

#[tokio::test]
async fn a_fan_has_at_most_one_active_hold_per_event() {
    let w = world().await;
    hold_seats(&w.db.connection, w.event, w.fan, &w.seats[..1], 600).await;

    let result = exec(&w.db.connection, &format!(
        "INSERT INTO holds (id, event_id, user_id, seat_count, held_until) VALUES ('{}', {}, '{}', 1, now())",
        Uuid::now_v7(), w.event, w.fan
    ))
    .await;

    violates(result, "holds_one_active_per_fan");
}

#[tokio::test]
async fn a_seat_cannot_be_booked_without_a_confirmed_booking_row() {
    let w = world().await;
    let pending = booking(&w, &w.seats[..1]).await;

    let result = exec(
        &w.db.connection,
        &format!(
            "UPDATE seats SET status = 'BOOKED', booking_id = '{pending}' WHERE id = {}",
            w.seats[0]
        ),
    )
    .await;

    violates(result, "seats_booked_in_confirmed_booking");
}

#[tokio::test]
async fn a_seat_is_confirmed_in_at_most_one_booking() {
    let w = world().await;
    let db = &w.db.connection;
    let first = booking(&w, &w.seats[..1]).await;
    let second = booking(&w, &w.seats[..1]).await;
    exec(
        db,
        &format!("UPDATE booking_seats SET confirmed = true WHERE booking_id = '{first}'"),
    )
    .await
    .expect("first");

    let result = exec(
        db,
        &format!("UPDATE booking_seats SET confirmed = true WHERE booking_id = '{second}'"),
    )
    .await;

    violates(result, "booking_seats_one_confirmed_per_seat");
}

#[tokio::test]
async fn a_confirmed_sale_cannot_be_unconfirmed_while_the_seat_is_booked() {
    let w = world().await;
    let db = &w.db.connection;
    let sold = booking(&w, &w.seats[..1]).await;
    exec(
        db,
        &format!("UPDATE booking_seats SET confirmed = true WHERE booking_id = '{sold}'"),
    )
    .await
    .expect("confirm");
    exec(
        db,
        &format!(
            "UPDATE seats SET status = 'BOOKED', booking_id = '{sold}' WHERE id = {}",
            w.seats[0]
        ),
    )
    .await
    .expect("book");

    let result = exec(
        db,
        &format!("UPDATE booking_seats SET confirmed = false WHERE booking_id = '{sold}'"),
    )
    .await;

    violates(result, "seats_booked_in_confirmed_booking");
}

#[tokio::test]
async fn a_booked_seat_cannot_also_be_held() {
    let w = world().await;
    let db = &w.db.connection;
    let sold = booking(&w, &w.seats[..1]).await;
    exec(
        db,
        &format!("UPDATE booking_seats SET confirmed = true WHERE booking_id = '{sold}'"),
    )
    .await
    .expect("confirm");
    exec(
        db,
        &format!(
            "UPDATE seats SET status = 'BOOKED', booking_id = '{sold}' WHERE id = {}",
            w.seats[0]
        ),
    )
    .await
    .expect("book");
    let hold = hold_seats(db, w.event, w.fan, &w.seats[1..2], 600).await;

    let result = exec(db, &format!(
        "UPDATE seats SET hold_id = '{hold}', held_until = now() + interval '1 minute' WHERE id = {}", w.seats[0]
    ))
    .await;

    violates(result, "seats_held_iff_hold");
}

#[tokio::test]
async fn money_is_captured_at_most_once_per_booking() {
    let w = world().await;
    let db = &w.db.connection;
    let paid = booking(&w, &w.seats[..1]).await;
    let payment = |status: &str| {
        format!(
            "INSERT INTO payments (id, booking_id, method, status, amount_minor, currency) \
             VALUES ('{}', '{paid}', 'CARD', '{status}', 100, 'INR')",
            Uuid::now_v7()
        )
    };
    exec(db, &payment("SUCCEEDED"))
        .await
        .expect("first capture");

    violates(
        exec(db, &payment("SUCCEEDED")).await,
        "payments_one_capture_per_booking",
    );
}
