//! Rows a one-statement sale mutation answers with, as JSON (`to_jsonb` of `RETURNING` rows):
//! a statement returns one row, and a booking, its seats and its payments ride in it as
//! columns, so the answer is built without reading anything back.

use chrono::{DateTime, Utc};
use entities::{booking, payment, seat};
use sea_orm::{ActiveEnum, QueryResult};
use serde::{Deserialize, de::DeserializeOwned};
use serde_json::Value;
use uuid::Uuid;

use crate::error::ApiResult;

/// A `seats` row.
#[derive(Debug, Deserialize)]
struct SeatRow {
    id: i64,
    event_id: i64,
    category_id: i64,
    section: String,
    row_label: String,
    number: i32,
    x: i32,
    y: i32,
    status: String,
    hold_id: Option<Uuid>,
    held_until: Option<DateTime<Utc>>,
    booking_id: Option<Uuid>,
    version: i64,
    updated_at: DateTime<Utc>,
}

/// A `bookings` row.
#[derive(Debug, Deserialize)]
struct BookingRow {
    id: Uuid,
    reference: String,
    event_id: i64,
    user_id: Uuid,
    hold_id: Option<Uuid>,
    status: String,
    amount_minor: i64,
    currency: String,
    payment_intent: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    confirmed_at: Option<DateTime<Utc>>,
    cancelled_at: Option<DateTime<Utc>>,
}

/// A `payments` row.
#[derive(Debug, Deserialize)]
struct PaymentRow {
    id: Uuid,
    booking_id: Uuid,
    method: String,
    status: String,
    amount_minor: i64,
    currency: String,
    provider: String,
    provider_ref: Option<String>,
    failure_code: Option<String>,
    failure_message: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

fn status<E: ActiveEnum<Value = String>>(spelled: &String) -> ApiResult<E> {
    E::try_from_value(spelled)
        .map_err(|error| anyhow::anyhow!("an unknown status {spelled}: {error}").into())
}

fn parse<T: DeserializeOwned>(value: Value, what: &str) -> ApiResult<T> {
    serde_json::from_value(value)
        .map_err(|error| anyhow::anyhow!("reading {what} from a sale statement: {error}").into())
}

/// The JSON column `name` of `row` (NULL reads as JSON null).
pub fn column(row: &QueryResult, name: &str) -> ApiResult<Value> {
    Ok(row
        .try_get::<Option<Value>>("", name)?
        .unwrap_or(Value::Null))
}

/// Seats from a JSON array (null: none), in id order.
pub fn seats(value: Value) -> ApiResult<Vec<seat::Model>> {
    if value.is_null() {
        return Ok(Vec::new());
    }
    let rows: Vec<SeatRow> = parse(value, "seats")?;
    let mut seats = rows
        .into_iter()
        .map(|row| {
            Ok(seat::Model {
                id: row.id,
                event_id: row.event_id,
                category_id: row.category_id,
                section: row.section,
                row_label: row.row_label,
                number: row.number,
                x: row.x,
                y: row.y,
                status: status(&row.status)?,
                hold_id: row.hold_id,
                held_until: row.held_until,
                booking_id: row.booking_id,
                version: row.version,
                updated_at: row.updated_at,
            })
        })
        .collect::<ApiResult<Vec<_>>>()?;
    seats.sort_by_key(|seat| seat.id);
    Ok(seats)
}

/// A booking from a JSON object.
pub fn booking(value: Value) -> ApiResult<booking::Model> {
    let row: BookingRow = parse(value, "a booking")?;
    Ok(booking::Model {
        id: row.id,
        reference: row.reference,
        event_id: row.event_id,
        user_id: row.user_id,
        hold_id: row.hold_id,
        status: status(&row.status)?,
        amount_minor: row.amount_minor,
        currency: row.currency,
        payment_intent: row.payment_intent,
        created_at: row.created_at,
        updated_at: row.updated_at,
        confirmed_at: row.confirmed_at,
        cancelled_at: row.cancelled_at,
    })
}

/// Payments from a JSON array (null: none), oldest first.
pub fn payments(value: Value) -> ApiResult<Vec<payment::Model>> {
    if value.is_null() {
        return Ok(Vec::new());
    }
    let rows: Vec<PaymentRow> = parse(value, "payments")?;
    let mut payments = rows
        .into_iter()
        .map(|row| {
            Ok(payment::Model {
                id: row.id,
                booking_id: row.booking_id,
                method: status(&row.method)?,
                status: status(&row.status)?,
                amount_minor: row.amount_minor,
                currency: row.currency,
                provider: row.provider,
                provider_ref: row.provider_ref,
                failure_code: row.failure_code,
                failure_message: row.failure_message,
                created_at: row.created_at,
                updated_at: row.updated_at,
            })
        })
        .collect::<ApiResult<Vec<_>>>()?;
    payments.sort_by_key(|payment| (payment.created_at, payment.id));
    Ok(payments)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn rows_read_as_postgres_writes_them() {
        let read = seats(json!([{
            "id": 7, "event_id": 1, "category_id": 2, "section": "A", "row_label": "B",
            "number": 3, "x": 4, "y": 5, "status": "BOOKED", "hold_id": null,
            "held_until": null, "booking_id": "0193a0b0-0000-7000-8000-000000000000",
            "version": 9, "updated_at": "2026-12-03T14:50:49.123456+00:00",
            "hold_state": null, "booked_state": true
        }]))
        .expect("seats");
        assert_eq!(read[0].status, entities::seat::SeatStatus::Booked);
        assert_eq!(read[0].version, 9);
        assert!(seats(Value::Null).expect("none").is_empty());
        let wrong = super::seats(json!([{ "id": 7, "status": "SOLD" }]));
        assert!(wrong.is_err());
    }
}
