//! Helpers for sale tests: admitted fans, holds and bookings over HTTP, and the invariants.

pub use graphql_api::testing::{assert_invariants, scalar};
use graphql_api::{
    payments::{CardInput, PaymentDetailsInput},
    testing::TestApp,
};
use sea_orm::{ConnectionTrait as _, DatabaseConnection, Statement};
use serde_json::{Value, json};
use uuid::Uuid;

pub const LOCK: &str = "mutation($seats: [ID!]!, $key: String!) { lockSeats(seatIds: $seats, idempotencyKey: $key) { \
    id status expiresAt extensionsLeft total { amountMinor currency } seats { id status } } }";
pub const BOOK: &str = "mutation($hold: ID!, $key: String!) { createBooking(holdId: $hold, idempotencyKey: $key) { \
    id reference status total { amountMinor formatted } paymentIntent seats { id } } }";
pub const PAY: &str = "mutation($booking: ID!, $method: PaymentMethod!, $details: PaymentDetailsInput!, $key: String!) { \
    confirmPayment(bookingId: $booking, method: $method, details: $details, idempotencyKey: $key) { \
    booking { id status confirmedAt seats { id status } } payment { id status amount { amountMinor } } } }";

/// Card details for calling `payments::pay` directly (the number decides the outcome).
pub fn card_details(number: &str) -> PaymentDetailsInput {
    PaymentDetailsInput {
        card: Some(CardInput {
            number: number.into(),
            expiry_month: 12,
            expiry_year: 2035,
            cvv: "123".into(),
            holder_name: "Fan".into(),
        }),
        upi: None,
        net_banking: None,
    }
}

/// A fan admitted to an event, with their admission token.
pub struct Fan {
    pub user: Uuid,
    pub token: String,
}

pub async fn admitted(app: &TestApp, event: i64) -> Fan {
    let user = Uuid::now_v7();
    Fan {
        user,
        token: app.admit(event, user).await,
    }
}

pub fn key() -> String {
    Uuid::new_v4().to_string()
}

pub fn card(number: &str) -> Value {
    json!({ "card": { "number": number, "expiryMonth": 12, "expiryYear": 2035, "cvv": "123", "holderName": "Priya" } })
}

pub async fn lock(app: &TestApp, event: i64, fan: &Fan, seats: &[i64]) -> Value {
    let ids: Vec<String> = seats.iter().map(i64::to_string).collect();
    app.sale_as(
        &fan.token,
        event,
        LOCK,
        json!({ "seats": ids, "key": key() }),
    )
    .await
}

pub async fn book(app: &TestApp, event: i64, fan: &Fan, hold: &str) -> Value {
    app.sale_as(
        &fan.token,
        event,
        BOOK,
        json!({ "hold": hold, "key": key() }),
    )
    .await
}

/// Holds `seats` for the fan and books them: the `createBooking` answer (id, paymentIntent).
pub async fn hold_and_book(app: &TestApp, event: i64, fan: &Fan, seats: &[i64]) -> Value {
    let hold = lock(app, event, fan, seats).await["data"]["lockSeats"]["id"]
        .as_str()
        .expect("hold")
        .to_owned();
    book(app, event, fan, &hold).await["data"]["createBooking"].clone()
}

pub async fn pay(
    app: &TestApp,
    event: i64,
    fan: &Fan,
    booking: &str,
    method: &str,
    details: Value,
) -> Value {
    app.sale_as(
        &fan.token,
        event,
        PAY,
        json!({ "booking": booking, "method": method, "details": details, "key": key() }),
    )
    .await
}

/// A new admitted fan who holds, books and pays for `seats` by card; returns the fan and the
/// booking's id, after checking the payment succeeded and the booking is confirmed.
pub async fn bought(app: &TestApp, event: i64, seats: &[i64]) -> (Fan, String) {
    let buyer = admitted(app, event).await;
    let booking = hold_and_book(app, event, &buyer, seats).await["id"]
        .as_str()
        .expect("a booking")
        .to_owned();
    let paid = pay(
        app,
        event,
        &buyer,
        &booking,
        "CARD",
        card("4111111111111111"),
    )
    .await;
    let payment = &paid["data"]["confirmPayment"];
    assert_eq!(payment["payment"]["status"], "SUCCEEDED", "{paid}");
    assert_eq!(payment["booking"]["status"], "CONFIRMED", "{paid}");
    (buyer, booking)
}

/// An event's seat ids, lowest first.
pub async fn seat_ids(db: &DatabaseConnection, event: i64, n: u64) -> Vec<i64> {
    crate::support::first_seat_ids(db, event, n).await
}

/// A seat's status in Postgres.
pub async fn seat_status(db: &DatabaseConnection, seat: i64) -> String {
    db.query_one_raw(Statement::from_sql_and_values(
        db.get_database_backend(),
        "SELECT status FROM seats WHERE id = $1",
        [seat.into()],
    ))
    .await
    .expect("query")
    .expect("row")
    .try_get("", "status")
    .expect("status")
}
