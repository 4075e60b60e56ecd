//! `POST /webhooks/payments`: a payment provider's callbacks, driving the same state machine
//! as `confirmPayment`.
//!
//! The header `X-Tickets-Signature: t=<unix seconds>,v1=<hex>` carries an HMAC-SHA256 of
//! `"<t>.<raw body>"` under `WEBHOOK_SECRET`. A bad signature, or a timestamp more than five
//! minutes from now, is refused; each provider event id is applied once (a replay answers
//! `duplicate` and changes nothing).
//!
//! Body: `{"id": "evt_...", "type": "payment.succeeded" | "payment.failed",
//! "data": {"paymentIntent": "pi_...", "method": "CARD", "failureMessage": "..."}}`.

use anyhow::Context as _;
use axum::{
    Json,
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use hmac::{Hmac, Mac as _};
use sea_orm::{ConnectionTrait as _, Statement};
use secrecy::ExposeSecret as _;
use serde::Deserialize;
use sha2::Sha256;

use super::{Outcome, PaymentMethod, payable, settle, start};
use crate::{
    error::{ApiError, ErrorCode, json_error},
    state::AppState,
};

/// The header carrying the signature.
pub const SIGNATURE_HEADER: &str = "x-tickets-signature";
/// How far a webhook's timestamp may be from now.
pub const TOLERANCE_SECS: i64 = 300;

#[derive(Debug, Deserialize)]
struct Notice {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    data: NoticeData,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct NoticeData {
    payment_intent: String,
    method: Option<String>,
    failure_message: Option<String>,
}

/// Signs a body the way the provider does (tests and tools use it).
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap_or_else(|_| unreachable_mac());
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!(
        "t={timestamp},v1={}",
        hex::encode(mac.finalize().into_bytes())
    )
}

// HMAC accepts keys of any length; this is never reached.
fn unreachable_mac() -> Hmac<Sha256> {
    Hmac::<Sha256>::new_from_slice(b"k").unwrap_or_else(|_| unreachable_mac())
}

/// Checks a signature header at `now` (pure, for tests).
pub fn verify(secret: &str, header: Option<&str>, body: &[u8], now: i64) -> Result<(), ApiError> {
    let header = header.ok_or(ApiError::WebhookSignatureInvalid)?;
    let mut timestamp = None;
    let mut signature = None;
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => timestamp = value.parse::<i64>().ok(),
            Some(("v1", value)) => signature = hex::decode(value).ok(),
            _ => {}
        }
    }
    let (Some(timestamp), Some(signature)) = (timestamp, signature) else {
        return Err(ApiError::WebhookSignatureInvalid);
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .map_err(|_| ApiError::WebhookSignatureInvalid)?;
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    // Constant-time comparison.
    mac.verify_slice(&signature)
        .map_err(|_| ApiError::WebhookSignatureInvalid)?;
    if (now - timestamp).abs() > TOLERANCE_SECS {
        return Err(ApiError::WebhookTimestampStale);
    }
    Ok(())
}

fn answer(status: StatusCode, body: serde_json::Value) -> Response {
    (status, Json(body)).into_response()
}

fn refusal(error: &ApiError) -> Response {
    if let ApiError::Internal(cause) = error {
        crate::error::log_internal(cause);
    }
    let code = error.code();
    answer(
        StatusCode::from_u16(code.http_status()).unwrap_or(StatusCode::BAD_REQUEST),
        json_error(code, &error.to_string()),
    )
}

/// The webhook endpoint.
pub async fn handle(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let signature = headers
        .get(SIGNATURE_HEADER)
        .and_then(|value| value.to_str().ok());
    let secret = state.config().webhook_secret.expose_secret().to_owned();
    if let Err(error) = verify(&secret, signature, &body, chrono::Utc::now().timestamp()) {
        return refusal(&error);
    }
    let Ok(notice) = serde_json::from_slice::<Notice>(&body) else {
        return answer(
            StatusCode::BAD_REQUEST,
            json_error(ErrorCode::BadRequest, "The body is not a payment notice."),
        );
    };
    match apply(&state, &notice).await {
        Ok(status) => answer(StatusCode::OK, serde_json::json!({ "status": status })),
        Err(error) => refusal(&error),
    }
}

async fn apply(state: &AppState, notice: &Notice) -> Result<&'static str, ApiError> {
    let db = state.db();
    let backend = db.get_database_backend();
    let found = entities::booking::Entity::find()
        .filter(entities::booking::Column::PaymentIntent.eq(notice.data.payment_intent.as_str()))
        .one(db)
        .await
        .context("finding a booking by payment intent")?
        .ok_or(ApiError::BookingNotFound)?;
    let recorded = db
        .execute_raw(Statement::from_sql_and_values(
            backend,
            "INSERT INTO payment_webhook_events (id, event_type, booking_id) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING",
            [notice.id.clone().into(), notice.kind.clone().into(), found.id.into()],
        ))
        .await
        .context("recording a webhook event")?;
    if recorded.rows_affected() == 0 {
        return Ok("duplicate");
    }
    let outcome = match notice.kind.as_str() {
        "payment.succeeded" => Outcome::Approved {
            provider_ref: notice.id.clone(),
        },
        "payment.failed" => Outcome::Declined {
            code: "PAYMENT_DECLINED".into(),
            message: notice
                .data
                .failure_message
                .clone()
                .unwrap_or_else(|| "The provider declined the payment.".into()),
        },
        _ => return Ok("ignored"),
    };
    let method = match notice.data.method.as_deref() {
        Some("UPI") => PaymentMethod::Upi,
        Some("NET_BANKING") => PaymentMethod::NetBanking,
        _ => PaymentMethod::Card,
    };
    if let Err(error) = payable(&found) {
        // A notice about a booking that can no longer take money changes nothing.
        return match error {
            ApiError::AlreadyPaid => Ok("already-paid"),
            _ => Ok("not-payable"),
        };
    }
    let payment = start(state, &found, method).await?;
    match settle(state, payment, &outcome, None).await {
        Ok(()) => Ok("applied"),
        // A decline or a void is the notice applied, not a failure of the endpoint.
        Err(ApiError::PaymentDeclined(_)) => Ok("applied"),
        Err(ApiError::HoldExpired | ApiError::AlreadyPaid) => Ok("voided"),
        Err(error) => {
            // Let the provider's retry try again.
            let _ = db
                .execute_raw(Statement::from_sql_and_values(
                    backend,
                    "DELETE FROM payment_webhook_events WHERE id = $1",
                    [notice.id.clone().into()],
                ))
                .await;
            Err(error)
        }
    }
}

use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signed_body_verifies_and_a_changed_one_does_not() {
        let header = sign("secret", 1_000, b"{\"a\":1}");

        assert!(verify("secret", Some(&header), b"{\"a\":1}", 1_000).is_ok());
        assert!(matches!(
            verify("secret", Some(&header), b"{\"a\":2}", 1_000),
            Err(ApiError::WebhookSignatureInvalid)
        ));
        assert!(matches!(
            verify("other", Some(&header), b"{\"a\":1}", 1_000),
            Err(ApiError::WebhookSignatureInvalid)
        ));
        assert!(matches!(
            verify("secret", None, b"", 1_000),
            Err(ApiError::WebhookSignatureInvalid)
        ));
        assert!(matches!(
            verify("secret", Some("t=x,v1=zz"), b"", 1_000),
            Err(ApiError::WebhookSignatureInvalid)
        ));
    }

    #[test]
    fn a_signature_older_than_five_minutes_is_stale() {
        let header = sign("secret", 1_000, b"body");

        assert!(verify("secret", Some(&header), b"body", 1_300).is_ok());
        assert!(matches!(
            verify("secret", Some(&header), b"body", 1_301),
            Err(ApiError::WebhookTimestampStale)
        ));
    }
}
