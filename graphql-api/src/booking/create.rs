//! Creating a booking from a live hold: one per hold, its total computed from the seats'
//! prices on the server.

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use entities::{booking, booking::BookingStatus, event, hold::HoldStatus, seat};
use rand::Rng as _;
use sea_orm::{ConnectionTrait as _, Statement, TransactionTrait as _};
use serde_json::json;
use uuid::Uuid;

use crate::{
    db::is_unique_violation,
    error::{ApiError, ApiResult},
    idempotency::{self, Claim},
    inventory::orders::{CreateRequest, Created, create_booking},
    state::AppState,
};

/// A short code people can read out: artist initials and six unambiguous characters.
pub fn reference(artist: &str) -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let prefix: String = artist
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(3)
        .collect::<String>()
        .to_uppercase();
    let prefix = if prefix.is_empty() {
        "TIX".to_owned()
    } else {
        prefix
    };
    let mut rng = rand::rng();
    let code: String = (0..6)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect();
    format!("{prefix}-{code}")
}

/// What `createBooking` did.
#[derive(Clone, Debug)]
pub enum Made {
    /// A new booking, made in one round trip: its row, its seats and its hold's end.
    New {
        booking: Box<booking::Model>,
        seats: Vec<seat::Model>,
        hold_until: DateTime<Utc>,
    },
    /// The hold's existing booking, or the one a key's first request made.
    Existing(Uuid),
}

const OPERATION: &str = "createBooking";

/// Creates the booking of a live hold in one statement (one round trip) on the success path,
/// with `key` recorded in it; or returns the hold's existing live booking. A key seen before
/// and lost races take the transactional path, [`create`].
pub async fn make(
    state: &AppState,
    event: &event::Model,
    user: Uuid,
    hold_id: Uuid,
    key: Option<&str>,
) -> ApiResult<Made> {
    if let Some(key) = key {
        idempotency::validate(key)?;
    }
    let input = json!({ "event": event.id, "hold": hold_id });
    let booking_id = Uuid::now_v7();
    let request = CreateRequest {
        booking_id,
        reference: reference(&event.artist),
        event: event.id,
        user,
        hold_id,
        payment_intent: format!("pi_{}", Uuid::new_v4().simple()),
        key: key.map(|key| {
            (
                key,
                idempotency::fingerprint(OPERATION, &input),
                state.config().idempotency_ttl_secs as f64,
                json!({ "bookingId": booking_id }),
            )
        }),
    };
    match create_booking(state, &request).await? {
        Created::Made {
            booking,
            seats,
            hold_until,
        } => Ok(Made::New {
            booking,
            seats,
            hold_until,
        }),
        Created::Existing(id) => Ok(Made::Existing(id)),
        Created::Missing => Err(ApiError::HoldNotFound),
        Created::NotLive => Err(ApiError::HoldExpired),
        Created::KeySeen | Created::Raced => {
            let id = match key {
                Some(key) => idempotency::once(
                    state,
                    user,
                    key,
                    OPERATION,
                    &input,
                    "bookingId",
                    |claim| async move { create(state, event, user, hold_id, Some(&claim)).await },
                )
                .await?,
                None => create(state, event, user, hold_id, None).await?,
            };
            Ok(Made::Existing(id))
        }
    }
}

/// Creates the booking of a live hold in one transaction (the slow path), or returns the
/// hold's existing live booking. With a `claim`, its idempotency key is recorded in the same
/// transaction as the booking.
pub async fn create(
    state: &AppState,
    event: &event::Model,
    user: Uuid,
    hold_id: Uuid,
    claim: Option<&Claim>,
) -> ApiResult<Uuid> {
    let db = state.db();
    let backend = db.get_database_backend();
    for _ in 0..5 {
        let tx = db.begin().await.context("starting createBooking")?;
        let hold = tx
            .query_one_raw(Statement::from_sql_and_values(
                backend,
                "SELECT status, held_until > now() AS live FROM holds \
                 WHERE id = $1 AND event_id = $2 AND user_id = $3 FOR UPDATE",
                [hold_id.into(), event.id.into(), user.into()],
            ))
            .await
            .context("locking a hold")?
            .ok_or(ApiError::HoldNotFound)?;
        let status: HoldStatus = hold.try_get("", "status").context("status")?;
        let live: bool = hold.try_get("", "live").context("live")?;
        let existing = tx
            .query_one_raw(Statement::from_sql_and_values(
                backend,
                "SELECT id FROM bookings WHERE hold_id = $1 AND status IN ($2, $3, $4)",
                [
                    hold_id.into(),
                    BookingStatus::PendingPayment.into(),
                    BookingStatus::PaymentFailed.into(),
                    BookingStatus::Confirmed.into(),
                ],
            ))
            .await
            .context("finding a hold's booking")?;
        if let Some(existing) = existing {
            return Ok(existing.try_get("", "id").context("booking id")?);
        }
        if status != HoldStatus::Active || !live {
            return Err(ApiError::HoldExpired);
        }
        let id = Uuid::now_v7();
        let created = tx
            .execute_raw(Statement::from_sql_and_values(
                backend,
                "INSERT INTO bookings (id, reference, event_id, user_id, hold_id, amount_minor, currency, payment_intent) \
                 SELECT $1, $2, $3, $4, $5, sum(c.price_minor), min(c.currency), $6 \
                 FROM seats s JOIN seat_categories c ON c.id = s.category_id WHERE s.hold_id = $5",
                [
                    id.into(),
                    reference(&event.artist).into(),
                    event.id.into(),
                    user.into(),
                    hold_id.into(),
                    format!("pi_{}", Uuid::new_v4().simple()).into(),
                ],
            ))
            .await;
        match created {
            Ok(_) => {}
            // One in a billion: two bookings drew the same reference. Draw again.
            Err(error) if is_unique_violation(&error, "bookings_reference_key") => {
                continue;
            }
            Err(error) => {
                return Err(anyhow::Error::new(error)
                    .context("creating a booking")
                    .into());
            }
        }
        tx.execute_raw(Statement::from_sql_and_values(
            backend,
            "INSERT INTO booking_seats (booking_id, seat_id, event_id, price_minor) \
             SELECT $1, s.id, s.event_id, c.price_minor FROM seats s \
             JOIN seat_categories c ON c.id = s.category_id WHERE s.hold_id = $2",
            [id.into(), hold_id.into()],
        ))
        .await
        .context("listing a booking's seats")?;
        if let Some(claim) = claim {
            claim.complete(&tx, id).await?;
        }
        tx.commit().await.context("committing createBooking")?;
        return Ok(id);
    }
    Err(anyhow::anyhow!("could not draw a unique booking reference").into())
}

#[cfg(test)]
mod tests {
    use super::reference;

    #[test]
    fn references_are_short_readable_and_prefixed_by_the_artist() {
        let code = reference("Coldplay");
        assert!(code.starts_with("COL-"), "{code}");
        assert_eq!(code.len(), 10);
        assert!(!code[4..].contains(['I', 'L', 'O', 'U']), "{code}");
        assert!(reference("!!!").starts_with("TIX-"));
    }
}
