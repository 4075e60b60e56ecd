//! `confirmPayment` in two round trips on its success path: one statement records the
//! PENDING payment with its idempotency key claimed IN_PROGRESS (so a retry while the
//! provider thinks is `IDEMPOTENCY_IN_PROGRESS`, never a second charge), the provider
//! answers, and one statement captures ([`inventory::capture`]). Everything else (a key
//! seen before, a decline, a timeout, a capture refused) goes through the one state
//! machine, [`settle`].

use std::{sync::LazyLock, time::Duration};

use chrono::Utc;
use entities::{booking::BookingStatus, payment::PaymentStatus};
use serde_json::json;
use uuid::Uuid;

use super::{
    Outcome, PaymentDetailsInput, PaymentMethod, ask, pay, settle, settle::payable_status, validate,
};
use crate::{
    db::literal,
    error::{ApiError, ApiResult},
    idempotency::{self, Claim},
    inventory::{
        self,
        capture::{Captured, capture},
        orders::one_row,
    },
    queue,
    state::AppState,
};

const OPERATION: &str = "confirmPayment";

/// $1 payment, $2 booking, $3 fan, $4 event, $5 method, $6 key, $7 fingerprint, $8 key
/// lifetime seconds: claims the key and records a PENDING payment for an unpaid booking.
static START: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH prior AS MATERIALIZED ( \
             SELECT 1 FROM idempotency_records WHERE user_id = $3 AND key = $6 \
         ), b AS MATERIALIZED ( \
             SELECT id, status, amount_minor, currency FROM bookings \
             WHERE id = $2 AND user_id = $3 AND event_id = $4 FOR UPDATE \
         ), decision AS MATERIALIZED ( \
             SELECT NOT EXISTS (SELECT 1 FROM prior) \
                AND EXISTS (SELECT 1 FROM b WHERE status IN ({pending}, {failed})) AS go \
         ), claim AS ( \
             INSERT INTO idempotency_records (user_id, key, operation, request_hash, status, expires_at) \
             SELECT $3, $6, '{operation}', $7, 'IN_PROGRESS', now() + make_interval(secs => $8) \
             FROM decision WHERE go ON CONFLICT (user_id, key) DO NOTHING RETURNING 1 \
         ), started AS ( \
             INSERT INTO payments (id, booking_id, method, status, amount_minor, currency) \
             SELECT $1, b.id, $5, {pending_payment}, b.amount_minor, b.currency FROM b \
             WHERE (SELECT go FROM decision) AND EXISTS (SELECT 1 FROM claim) RETURNING id \
         ) \
         SELECT EXISTS (SELECT 1 FROM prior) AS prior, (SELECT status FROM b) AS booking_status, \
                EXISTS (SELECT 1 FROM started) AS started",
        operation = OPERATION,
        pending = literal(&BookingStatus::PendingPayment),
        failed = literal(&BookingStatus::PaymentFailed),
        pending_payment = literal(&PaymentStatus::Pending),
    )
});

/// What `confirmPayment` did.
#[derive(Clone, Debug)]
pub enum Charged {
    /// Captured now, in two round trips: the booking as the capture left it.
    New {
        payment_id: Uuid,
        captured: Box<Captured>,
    },
    /// Settled another way (a replay, a webhook first): the payment's id.
    Existing(Uuid),
}

/// Pays a fan's booking: validates the details, records the payment, asks the provider and
/// captures. A decline or timeout answers its error and forgets the key, so a retry runs.
pub async fn charge(
    state: &AppState,
    event: i64,
    user: Uuid,
    booking_id: Uuid,
    method: PaymentMethod,
    details: &PaymentDetailsInput,
    key: &str,
) -> ApiResult<Charged> {
    idempotency::validate(key)?;
    let input = json!({ "booking": booking_id, "method": method.db(), "details": details });
    let value = validate(method, details, Utc::now())?;
    let payment_id = Uuid::now_v7();
    let row = one_row(
        state,
        &START,
        vec![
            payment_id.into(),
            booking_id.into(),
            user.into(),
            event.into(),
            method.db().into(),
            key.into(),
            idempotency::fingerprint(OPERATION, &input).into(),
            (state.config().idempotency_ttl_secs as f64).into(),
        ],
    )
    .await
    .map_err(|error| anyhow::Error::new(error).context("recording a payment"))?;
    if !row.try_get::<bool>("", "started")? {
        if !row.try_get::<bool>("", "prior")? {
            match row.try_get::<Option<BookingStatus>>("", "booking_status")? {
                None => return Err(ApiError::BookingNotFound),
                // Payable, but another request with this key claimed it first.
                Some(status) => payable_status(status)?,
            }
        }
        // A key seen before: the transactional path answers the replay (or its refusal).
        let id = idempotency::once(
            state,
            user,
            key,
            OPERATION,
            &input,
            "paymentId",
            |claim| async move {
                pay(
                    state,
                    event,
                    user,
                    booking_id,
                    method,
                    details,
                    Some(&claim),
                )
                .await
            },
        )
        .await?;
        return Ok(Charged::Existing(id));
    }
    let outcome = ask(
        method,
        &value,
        Duration::from_millis(state.config().payment_timeout_ms),
    )
    .await;
    if let Outcome::Approved { provider_ref } = &outcome {
        let result = json!({ "paymentId": payment_id });
        if let Some(captured) =
            capture(state, payment_id, provider_ref, Some((key, user, result))).await?
        {
            inventory::publish(state, event, &captured.changes).await;
            // The fan bought: their admission ends and the next fan gets the slot.
            if let Err(error) = queue::complete_admission(state, event, user).await {
                tracing::warn!(%error, "ending an admission after a purchase failed");
            }
            return Ok(Charged::New {
                payment_id,
                captured: Box::new(captured),
            });
        }
    }
    let claim = Claim::claimed(user, key, "paymentId");
    match settle(state, payment_id, &outcome, Some(&claim)).await {
        Ok(()) => {
            if !claim.is_done() {
                claim.complete(state.db(), payment_id).await?;
            }
            Ok(Charged::Existing(payment_id))
        }
        Err(error) => {
            idempotency::forget(state, user, key).await?;
            Err(error)
        }
    }
}
