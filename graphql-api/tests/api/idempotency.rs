//! A key and the result it names commit together: the moment a hold, booking or approved
//! payment exists, its key already answers with it, so no crash in between can let a retry
//! make a second one (or, for a payment, answer ALREADY_PAID instead of the payment).

use graphql_api::{
    booking, holds, idempotency,
    payments::{self, PaymentMethod},
    sale::Buyer,
    state::AppState,
    testing::TestApp,
};
use sea_orm::{ConnectionTrait as _, DatabaseConnection, Statement};
use serde_json::json;
use uuid::Uuid;

use crate::sale_support::{card_details, seat_ids};

/// The key's status and recorded response, read on another connection.
async fn record(db: &DatabaseConnection, user: Uuid, key: &str) -> (String, serde_json::Value) {
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            sea_orm::DbBackend::Postgres,
            "SELECT status, coalesce(response, 'null'::jsonb) AS response \
             FROM idempotency_records WHERE user_id = $1 AND key = $2",
            [user.into(), key.into()],
        ))
        .await
        .expect("query")
        .expect("a record");
    (
        row.try_get("", "status").expect("status"),
        row.try_get("", "response").expect("response"),
    )
}

/// Asks again with a key that already succeeded: the recorded id, without running the work.
async fn replay(
    state: &AppState,
    user: Uuid,
    key: &str,
    operation: &str,
    input: &serde_json::Value,
    field: &'static str,
) -> Uuid {
    idempotency::once(state, user, key, operation, input, field, |_claim| async {
        panic!("a replayed key ran its work again")
    })
    .await
    .expect("a replay")
}

#[tokio::test]
async fn a_hold_a_booking_and_a_payment_are_recorded_under_their_key_in_their_own_transaction() {
    let app = TestApp::spawn().await;
    let state = &app.instance.state;
    let db = &app.db.connection;
    let event_id = app.seed_event(4).await;
    let event = graphql_api::events::find_event_by_id(state, event_id)
        .await
        .expect("event");
    let seats = seat_ids(db, event_id, 2).await;
    let buyer = Buyer {
        user_id: Uuid::now_v7(),
        cap: 4,
        admission: None,
    };
    app.ensure_user(buyer.user_id).await;
    let (event, buyer, seats) = (&event, &buyer, &seats);

    let input = json!({ "event": event_id, "seats": seats });
    let hold = idempotency::once(
        state,
        buyer.user_id,
        "hold-key",
        "lockSeats",
        &input,
        "holdId",
        |claim| async move {
            let id = holds::lock_seats(state, event, buyer, seats, Some(&claim)).await?;
            // Committed, and the work has not returned yet: the key already names the hold.
            let (status, response) = record(db, buyer.user_id, "hold-key").await;
            assert_eq!(status, "COMPLETED");
            assert_eq!(response["holdId"], json!(id));
            Ok(id)
        },
    )
    .await
    .expect("a hold");

    let input = json!({ "event": event_id, "hold": hold });
    let made = idempotency::once(
        state,
        buyer.user_id,
        "booking-key",
        "createBooking",
        &input,
        "bookingId",
        |claim| async move {
            let id = booking::create(state, event, buyer.user_id, hold, Some(&claim)).await?;
            let (status, response) = record(db, buyer.user_id, "booking-key").await;
            assert_eq!(status, "COMPLETED");
            assert_eq!(response["bookingId"], json!(id));
            Ok(id)
        },
    )
    .await
    .expect("a booking");

    // And a retry with the same key replays, without running the work again.
    let replayed = replay(
        state,
        buyer.user_id,
        "booking-key",
        "createBooking",
        &input,
        "bookingId",
    )
    .await;
    assert_eq!(replayed, made);

    let details = &card_details("4111111111111111");
    let input = json!({ "booking": made, "method": "CARD" });
    let paid = idempotency::once(
        state,
        buyer.user_id,
        "payment-key",
        "confirmPayment",
        &input,
        "paymentId",
        |claim| async move {
            let id = payments::pay(
                state,
                event_id,
                buyer.user_id,
                made,
                PaymentMethod::Card,
                details,
                Some(&claim),
            )
            .await?;
            // The booking is confirmed and the key already names this payment.
            let (status, response) = record(db, buyer.user_id, "payment-key").await;
            assert_eq!(status, "COMPLETED");
            assert_eq!(response["paymentId"], json!(id));
            Ok(id)
        },
    )
    .await
    .expect("a payment");
    let replayed = replay(
        state,
        buyer.user_id,
        "payment-key",
        "confirmPayment",
        &input,
        "paymentId",
    )
    .await;
    assert_eq!(replayed, paid);
}

#[tokio::test]
async fn work_that_fails_leaves_its_key_free_for_a_retry() {
    let app = TestApp::spawn().await;
    let state = &app.instance.state;
    let db = &app.db.connection;
    let user = Uuid::now_v7();
    app.ensure_user(user).await;
    let input = json!({ "n": 1 });

    let failed = idempotency::once(state, user, "k", "op", &input, "id", |_claim| async {
        Err(graphql_api::error::ApiError::HoldExpired)
    })
    .await;
    assert!(failed.is_err());
    let left: i64 = db
        .query_one_raw(Statement::from_string(
            sea_orm::DbBackend::Postgres,
            "SELECT count(*) AS n FROM idempotency_records",
        ))
        .await
        .expect("query")
        .expect("row")
        .try_get("", "n")
        .expect("n");
    assert_eq!(left, 0, "a failed attempt keeps no key");

    // Work that does not record its own key is still remembered after it returns.
    let id = Uuid::now_v7();
    let first = idempotency::once(state, user, "k", "op", &input, "id", |_claim| async move {
        Ok(id)
    })
    .await
    .expect("ran");
    assert_eq!(first, id);
    let (status, response) = record(db, user, "k").await;
    assert_eq!(status, "COMPLETED");
    assert_eq!(response["id"], json!(id));
}
