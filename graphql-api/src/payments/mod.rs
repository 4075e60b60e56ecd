//! Payments: simulated card, UPI and net banking (test values in `docs/sale-api.md`), the
//! one state machine every payment goes through ([`settle`]), and the signed provider
//! webhook ([`webhook`]).
//!
//! A payment is first recorded PENDING, then the provider answers, then [`settle`] applies
//! the answer in one transaction: on success the booking's seats turn BOOKED, the booking
//! CONFIRMED and the hold CONVERTED together, or nothing changes and the authorization is
//! voided (FAILED), never captured. So money captured always equals the confirmed bookings.

pub mod webhook;

use std::time::Duration;

use anyhow::Context as _;
use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Datelike as _, Utc};
use entities::{booking, payment, seat};
use sea_orm::{ConnectionTrait as _, Statement, TransactionTrait as _};
use serde_json::json;
use uuid::Uuid;

use crate::{
    booking::{Booking, view_one},
    error::{ApiError, ApiResult},
    holds::{Changes, parse_uuid, sale_context},
    idempotency::{self, Claim},
    money::Money,
    queue,
    seats::live,
    state::AppState,
};

/// How the fan pays.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
pub enum PaymentMethod {
    Card,
    Upi,
    NetBanking,
}

impl PaymentMethod {
    fn db(self) -> &'static str {
        match self {
            PaymentMethod::Card => "CARD",
            PaymentMethod::Upi => "UPI",
            PaymentMethod::NetBanking => "NET_BANKING",
        }
    }
}

/// Where a payment is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
pub enum PaymentStatus {
    Pending,
    Succeeded,
    Failed,
    Refunded,
}

/// One attempt to pay.
#[derive(Clone, Debug, SimpleObject)]
pub struct Payment {
    pub id: ID,
    pub method: PaymentMethod,
    pub status: PaymentStatus,
    pub amount: Money,
    pub failure_code: Option<String>,
    pub failure_message: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// Builds the GraphQL payment from its row.
pub trait PaymentView {
    fn view(&self) -> Payment;
}

impl PaymentView for payment::Model {
    fn view(&self) -> Payment {
        Payment {
            id: ID(self.id.to_string()),
            method: match self.method {
                payment::PaymentMethod::Card => PaymentMethod::Card,
                payment::PaymentMethod::Upi => PaymentMethod::Upi,
                payment::PaymentMethod::NetBanking => PaymentMethod::NetBanking,
            },
            status: match self.status {
                payment::PaymentStatus::Pending => PaymentStatus::Pending,
                payment::PaymentStatus::Succeeded => PaymentStatus::Succeeded,
                payment::PaymentStatus::Failed => PaymentStatus::Failed,
                payment::PaymentStatus::Refunded => PaymentStatus::Refunded,
            },
            amount: Money::new(self.amount_minor, &self.currency),
            failure_code: self.failure_code.clone(),
            failure_message: self.failure_message.clone(),
            created_at: self.created_at,
        }
    }
}

/// Card details.
#[derive(Clone, Debug, InputObject, serde::Serialize)]
pub struct CardInput {
    pub number: String,
    pub expiry_month: i32,
    pub expiry_year: i32,
    pub cvv: String,
    pub holder_name: String,
}

/// A UPI virtual payment address, e.g. `fan@okicici`.
#[derive(Clone, Debug, InputObject, serde::Serialize)]
pub struct UpiInput {
    pub vpa: String,
}

/// A bank for net banking, by code (`SBIN`, `HDFC`, `ICIC`, `UTIB`, `KKBK`).
#[derive(Clone, Debug, InputObject, serde::Serialize)]
pub struct NetBankingInput {
    pub bank_code: String,
}

/// The details of the chosen method (only that one is read).
#[derive(Clone, Debug, InputObject, serde::Serialize)]
pub struct PaymentDetailsInput {
    pub card: Option<CardInput>,
    pub upi: Option<UpiInput>,
    pub net_banking: Option<NetBankingInput>,
}

/// A paid booking and its payment.
#[derive(Clone, Debug, SimpleObject)]
pub struct PaymentResult {
    pub booking: Booking,
    pub payment: Payment,
}

/// What the (simulated) provider answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Approved { provider_ref: String },
    Declined { code: String, message: String },
    TimedOut,
}

const BANKS: &[&str] = &["SBIN", "HDFC", "ICIC", "UTIB", "KKBK"];

fn luhn_valid(digits: &str) -> bool {
    let mut sum = 0;
    for (i, c) in digits.chars().rev().enumerate() {
        let Some(mut d) = c.to_digit(10) else {
            return false;
        };
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    sum % 10 == 0
}

/// Checks the details of the chosen method; returns a normalized test value to simulate on.
pub fn validate(
    method: PaymentMethod,
    details: &PaymentDetailsInput,
    today: DateTime<Utc>,
) -> ApiResult<String> {
    let invalid = |message: &str| ApiError::InvalidPaymentDetails(message.to_owned());
    match method {
        PaymentMethod::Card => {
            let card = details
                .card
                .as_ref()
                .ok_or_else(|| invalid("Card details are missing."))?;
            let digits: String = card
                .number
                .chars()
                .filter(|c| !c.is_whitespace() && *c != '-')
                .collect();
            if !(12..=19).contains(&digits.len()) || !luhn_valid(&digits) {
                return Err(invalid("That card number is not valid; check the digits."));
            }
            if !(1..=12).contains(&card.expiry_month) {
                return Err(invalid("The expiry month must be between 1 and 12."));
            }
            let (year, month) = (today.year(), today.month() as i32);
            let expiry_year = if card.expiry_year < 100 {
                2000 + card.expiry_year
            } else {
                card.expiry_year
            };
            if expiry_year < year
                || (expiry_year == year && card.expiry_month < month)
                || expiry_year > year + 20
            {
                return Err(invalid(
                    "This card has expired (or the expiry date is not valid).",
                ));
            }
            if !(3..=4).contains(&card.cvv.len()) || !card.cvv.chars().all(|c| c.is_ascii_digit()) {
                return Err(invalid("The CVV is the 3 or 4 digits on the card."));
            }
            if card.holder_name.trim().is_empty() || card.holder_name.len() > 100 {
                return Err(invalid("Enter the name on the card."));
            }
            Ok(digits)
        }
        PaymentMethod::Upi => {
            let upi = details
                .upi
                .as_ref()
                .ok_or_else(|| invalid("The UPI ID is missing."))?;
            let vpa = upi.vpa.trim().to_lowercase();
            let valid = vpa.len() <= 100
                && vpa.split_once('@').is_some_and(|(name, bank)| {
                    !name.is_empty()
                        && !bank.is_empty()
                        && vpa
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || ".-_@".contains(c))
                });
            if !valid {
                return Err(invalid("A UPI ID looks like name@bank."));
            }
            Ok(vpa)
        }
        PaymentMethod::NetBanking => {
            let bank = details
                .net_banking
                .as_ref()
                .ok_or_else(|| invalid("Choose a bank."))?;
            let code = bank.bank_code.trim().to_uppercase();
            if !BANKS.contains(&code.as_str()) && code != "FAIL" && code != "SLOW" {
                return Err(invalid("We do not support that bank for net banking yet."));
            }
            Ok(code)
        }
    }
}

/// The simulated provider's answer for a normalized test value.
pub fn simulate(method: PaymentMethod, value: &str) -> Outcome {
    let declined = |message: &str| Outcome::Declined {
        code: "PAYMENT_DECLINED".into(),
        message: message.into(),
    };
    match (method, value) {
        (PaymentMethod::Card, "4000000000000002") => declined("Your bank declined the card."),
        (PaymentMethod::Card, "4000000000000119")
        | (PaymentMethod::Upi, "timeout@upi")
        | (PaymentMethod::NetBanking, "SLOW") => Outcome::TimedOut,
        (PaymentMethod::Upi, "failure@upi") => declined("The UPI payment was declined."),
        (PaymentMethod::NetBanking, "FAIL") => declined("Your bank declined the transfer."),
        _ => Outcome::Approved {
            provider_ref: format!("sim_{}", Uuid::new_v4().simple()),
        },
    }
}

/// Sale-schema payment mutations.
#[derive(Default)]
pub struct SalePaymentsMutation;

#[Object]
impl SalePaymentsMutation {
    /// Pays a booking. On success the seats are the fan's and their queue admission ends; a
    /// decline leaves the booking PAYMENT_FAILED and may be retried while the hold lives.
    async fn confirm_payment(
        &self,
        ctx: &Context<'_>,
        booking_id: ID,
        method: PaymentMethod,
        details: PaymentDetailsInput,
        idempotency_key: String,
    ) -> ApiResult<PaymentResult> {
        let (state, scope, buyer) = sale_context(ctx)?;
        let booking_id = parse_uuid(&booking_id, ApiError::BookingNotFound)?;
        let input = json!({ "booking": booking_id, "method": method.db(), "details": details });
        let details = &details;
        let payment_id = idempotency::once(
            state,
            buyer.user_id,
            &idempotency_key,
            "confirmPayment",
            &input,
            "paymentId",
            |claim| async move {
                pay(
                    state,
                    scope.event.id,
                    buyer.user_id,
                    booking_id,
                    method,
                    details,
                    Some(&claim),
                )
                .await
            },
        )
        .await?;
        let booking = view_one(state, buyer.user_id, Some(scope.event.id), booking_id).await?;
        let payment = booking
            .payments
            .iter()
            .find(|payment| payment.id.0 == payment_id.to_string())
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("payment {payment_id} vanished"))?;
        Ok(PaymentResult { booking, payment })
    }
}

/// Validates, records, asks the provider and settles; returns the payment id. With a
/// `claim`, an approved payment's id is recorded under its idempotency key in the
/// transaction that confirms the booking.
pub async fn pay(
    state: &AppState,
    event: i64,
    user: Uuid,
    booking_id: Uuid,
    method: PaymentMethod,
    details: &PaymentDetailsInput,
    claim: Option<&Claim>,
) -> ApiResult<Uuid> {
    let found = crate::booking::load(state, user, Some(event), booking_id).await?;
    payable(&found)?;
    let value = validate(method, details, Utc::now())?;
    let payment_id = start(state, &found, method).await?;
    let outcome = match simulate(method, &value) {
        Outcome::TimedOut => {
            tokio::time::sleep(Duration::from_millis(state.config().payment_timeout_ms)).await;
            Outcome::TimedOut
        }
        other => other,
    };
    settle(state, payment_id, &outcome, claim).await?;
    Ok(payment_id)
}

/// Refuses bookings that cannot take a payment.
pub fn payable(found: &booking::Model) -> ApiResult<()> {
    match found.status {
        booking::BookingStatus::PendingPayment | booking::BookingStatus::PaymentFailed => Ok(()),
        booking::BookingStatus::Confirmed => Err(ApiError::AlreadyPaid),
        booking::BookingStatus::Cancelled => Err(ApiError::BookingNotPayable("cancelled".into())),
        booking::BookingStatus::Expired => Err(ApiError::BookingNotPayable("expired".into())),
        booking::BookingStatus::Refunded => Err(ApiError::BookingNotPayable("refunded".into())),
    }
}

/// Records a PENDING payment for a booking's amount.
pub async fn start(
    state: &AppState,
    found: &booking::Model,
    method: PaymentMethod,
) -> ApiResult<Uuid> {
    let id = Uuid::now_v7();
    let db = state.db();
    db.execute_raw(Statement::from_sql_and_values(
        db.get_database_backend(),
        "INSERT INTO payments (id, booking_id, method, status, amount_minor, currency) VALUES ($1, $2, $3, 'PENDING', $4, $5)",
        [id.into(), found.id.into(), method.db().into(), found.amount_minor.into(), found.currency.clone().into()],
    ))
    .await
    .context("recording a payment")?;
    Ok(id)
}

/// Applies a provider's answer to a PENDING payment, in one transaction. Declines and
/// timeouts leave the booking PAYMENT_FAILED (retry allowed) and return their error; an
/// approval confirms the booking, unless it can no longer be confirmed (paid already, hold
/// run out), in which case the authorization is voided and the reason returned. A `claim`
/// (the direct answer's idempotency key; webhooks have none) commits with the confirmation,
/// so a crash right after it cannot leave a retry answering ALREADY_PAID.
pub async fn settle(
    state: &AppState,
    payment_id: Uuid,
    outcome: &Outcome,
    claim: Option<&Claim>,
) -> ApiResult<()> {
    let db = state.db();
    let backend = db.get_database_backend();
    let tx = db.begin().await.context("starting to settle a payment")?;
    let row = tx
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            "SELECT p.status AS payment_status, b.id AS booking_id, b.status AS booking_status, b.hold_id, \
                    b.event_id, b.user_id, \
                    (SELECT h.status = 'ACTIVE' AND h.held_until > now() FROM holds h WHERE h.id = b.hold_id) AS hold_live \
             FROM payments p JOIN bookings b ON b.id = p.booking_id WHERE p.id = $1 FOR UPDATE OF p, b",
            [payment_id.into()],
        ))
        .await
        .context("locking a payment and its booking")?
        .ok_or_else(|| anyhow::anyhow!("payment {payment_id} not found"))?;
    let payment_status: String = row
        .try_get("", "payment_status")
        .context("payment status")?;
    let booking_id: Uuid = row.try_get("", "booking_id").context("booking id")?;
    let booking_status: String = row
        .try_get("", "booking_status")
        .context("booking status")?;
    let hold_id: Option<Uuid> = row.try_get("", "hold_id").context("hold id")?;
    let event: i64 = row.try_get("", "event_id").context("event id")?;
    let user: Uuid = row.try_get("", "user_id").context("user id")?;
    let hold_live: Option<bool> = row.try_get("", "hold_live").context("hold live")?;
    if payment_status != "PENDING" {
        // Settled already (a webhook and the direct answer may both arrive).
        return Ok(());
    }
    let fail = |code: &str, message: &str| {
        Statement::from_sql_and_values(
            backend,
            "UPDATE payments SET status = 'FAILED', failure_code = $2, failure_message = $3, updated_at = now() WHERE id = $1",
            [payment_id.into(), code.into(), message.into()],
        )
    };
    let mark_failed_booking = Statement::from_sql_and_values(
        backend,
        "UPDATE bookings SET status = 'PAYMENT_FAILED', updated_at = now() \
         WHERE id = $1 AND status IN ('PENDING_PAYMENT', 'PAYMENT_FAILED')",
        [booking_id.into()],
    );
    let provider_ref = match outcome {
        Outcome::Declined { code, message } => {
            tx.execute_raw(fail(code, message))
                .await
                .context("recording a decline")?;
            tx.execute_raw(mark_failed_booking)
                .await
                .context("marking the booking")?;
            tx.commit().await.context("committing a decline")?;
            return Err(ApiError::PaymentDeclined(message.clone()));
        }
        Outcome::TimedOut => {
            tx.execute_raw(fail(
                "PAYMENT_TIMEOUT",
                "The payment provider did not answer in time.",
            ))
            .await
            .context("recording a timeout")?;
            tx.execute_raw(mark_failed_booking)
                .await
                .context("marking the booking")?;
            tx.commit().await.context("committing a timeout")?;
            return Err(ApiError::PaymentTimeout);
        }
        Outcome::Approved { provider_ref } => provider_ref.clone(),
    };
    if booking_status == "CONFIRMED" {
        tx.execute_raw(fail(
            "ALREADY_PAID",
            "Voided: the booking was already paid.",
        ))
        .await
        .context("voiding")?;
        tx.commit().await.context("committing a void")?;
        return Err(ApiError::AlreadyPaid);
    }
    let (Some(hold_id), true, true) = (
        hold_id,
        hold_live == Some(true),
        booking_status == "PENDING_PAYMENT" || booking_status == "PAYMENT_FAILED",
    ) else {
        tx.execute_raw(fail(
            "HOLD_EXPIRED",
            "Voided: the seats were no longer held.",
        ))
        .await
        .context("voiding")?;
        tx.commit().await.context("committing a void")?;
        return Err(ApiError::HoldExpired);
    };
    // Booking rows first, then seats: a BOOKED seat must point at a confirmed booking row.
    let lines = tx
        .execute_raw(Statement::from_sql_and_values(
            backend,
            "UPDATE booking_seats SET confirmed = true WHERE booking_id = $1",
            [booking_id.into()],
        ))
        .await
        .context("confirming booking seats")?
        .rows_affected();
    let rows = tx
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            "UPDATE seats SET status = 'BOOKED', booking_id = $1, hold_id = NULL, held_until = NULL, \
                 version = version + 1, updated_at = now() \
             WHERE hold_id = $2 AND status = 'HELD' \
               AND id IN (SELECT seat_id FROM booking_seats WHERE booking_id = $1) \
             RETURNING id, version",
            [booking_id.into(), hold_id.into()],
        ))
        .await
        .context("booking seats")?;
    if rows.len() as u64 != lines {
        // Some seat slipped away (taken after its hold ran out): undo, and void.
        tx.rollback().await.context("rolling back a settlement")?;
        let tx = db.begin().await.context("starting a void")?;
        tx.execute_raw(fail(
            "HOLD_EXPIRED",
            "Voided: the seats were no longer held.",
        ))
        .await
        .context("voiding")?;
        tx.commit().await.context("committing a void")?;
        return Err(ApiError::HoldExpired);
    }
    let mut changes = Changes::new();
    for row in rows {
        changes.push((
            row.try_get("", "id").context("id")?,
            seat::SeatStatus::Booked,
            row.try_get("", "version").context("version")?,
        ));
    }
    for (sql, value) in [
        (
            "UPDATE holds SET status = 'CONVERTED', ended_at = now() WHERE id = $1",
            hold_id,
        ),
        (
            "UPDATE bookings SET status = 'CONFIRMED', confirmed_at = now(), updated_at = now() WHERE id = $1",
            booking_id,
        ),
    ] {
        tx.execute_raw(Statement::from_sql_and_values(backend, sql, [value.into()]))
            .await
            .context("confirming")?;
    }
    tx.execute_raw(Statement::from_sql_and_values(
        backend,
        "UPDATE payments SET status = 'SUCCEEDED', provider_ref = $2, updated_at = now() WHERE id = $1",
        [payment_id.into(), provider_ref.into()],
    ))
    .await
    .context("capturing")?;
    if let Some(claim) = claim {
        claim.complete(&tx, payment_id).await?;
    }
    tx.commit().await.context("committing a payment")?;
    live::publish(state, event, &changes).await;
    // The fan bought: their admission ends and the next fan gets the slot.
    if let Err(error) = queue::complete_admission(state, event, user).await {
        tracing::warn!(%error, "ending an admission after a purchase failed");
    }
    Ok(())
}

/// Settles, as timed out, payments still PENDING `older_than` after they were recorded: an
/// instance stopped between recording one and settling it, so no answer will come. The
/// booking then shows PAYMENT_FAILED and can be paid again while its hold lives. Any number
/// of instances may run it: `settle` locks each payment and skips one that is no longer
/// PENDING, so an answer that arrives meanwhile wins. Returns how many it settled.
pub async fn sweep_abandoned(
    state: &AppState,
    older_than: Duration,
    limit: i64,
) -> anyhow::Result<usize> {
    let db = state.db();
    let stale = db
        .query_all_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            "SELECT id FROM payments WHERE status = 'PENDING' \
               AND created_at < now() - make_interval(secs => $1) \
             ORDER BY created_at LIMIT $2",
            [older_than.as_secs_f64().into(), limit.into()],
        ))
        .await
        .context("finding abandoned payments")?;
    let mut settled = 0;
    for row in stale {
        let id: Uuid = row.try_get("", "id").context("payment id")?;
        match settle(state, id, &Outcome::TimedOut, None).await {
            Err(ApiError::PaymentTimeout) => settled += 1,
            // Its own answer settled it first.
            Ok(()) => {}
            Err(error) => return Err(anyhow::anyhow!("settling abandoned payment {id}: {error}")),
        }
    }
    Ok(settled)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;

    use super::*;

    fn card(number: &str) -> PaymentDetailsInput {
        PaymentDetailsInput {
            card: Some(CardInput {
                number: number.into(),
                expiry_month: 12,
                expiry_year: 2030,
                cvv: "123".into(),
                holder_name: "Priya".into(),
            }),
            upi: None,
            net_banking: None,
        }
    }

    fn today() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 25, 0, 0, 0)
            .single()
            .unwrap_or_default()
    }

    #[test]
    fn test_cards_succeed_decline_and_time_out_as_documented() {
        let outcome = |number: &str| {
            let value = validate(PaymentMethod::Card, &card(number), today()).expect("valid");
            simulate(PaymentMethod::Card, &value)
        };
        assert!(matches!(
            outcome("4111 1111 1111 1111"),
            Outcome::Approved { .. }
        ));
        assert!(matches!(
            outcome("4000 0000 0000 0002"),
            Outcome::Declined { .. }
        ));
        assert_eq!(outcome("4000-0000-0000-0119"), Outcome::TimedOut);
    }

    #[test]
    fn upi_and_net_banking_test_values_behave_as_documented() {
        let upi = |vpa: &str| PaymentDetailsInput {
            card: None,
            upi: Some(UpiInput { vpa: vpa.into() }),
            net_banking: None,
        };
        let bank = |code: &str| PaymentDetailsInput {
            card: None,
            upi: None,
            net_banking: Some(NetBankingInput {
                bank_code: code.into(),
            }),
        };
        let run = |method, details: PaymentDetailsInput| {
            simulate(method, &validate(method, &details, today()).expect("valid"))
        };
        assert!(matches!(
            run(PaymentMethod::Upi, upi("fan@okicici")),
            Outcome::Approved { .. }
        ));
        assert!(matches!(
            run(PaymentMethod::Upi, upi("failure@upi")),
            Outcome::Declined { .. }
        ));
        assert_eq!(
            run(PaymentMethod::Upi, upi("timeout@upi")),
            Outcome::TimedOut
        );
        assert!(matches!(
            run(PaymentMethod::NetBanking, bank("hdfc")),
            Outcome::Approved { .. }
        ));
        assert!(matches!(
            run(PaymentMethod::NetBanking, bank("FAIL")),
            Outcome::Declined { .. }
        ));
        assert_eq!(
            run(PaymentMethod::NetBanking, bank("SLOW")),
            Outcome::TimedOut
        );
    }

    #[test]
    fn malformed_details_are_refused() {
        let mut expired = card("4111111111111111");
        if let Some(card) = expired.card.as_mut() {
            card.expiry_year = 2025;
        }
        let mut short_cvv = card("4111111111111111");
        if let Some(card) = short_cvv.card.as_mut() {
            card.cvv = "12".into();
        }
        let cases = [
            (PaymentMethod::Card, card("4111 1111 1111 1112")),
            (PaymentMethod::Card, expired),
            (PaymentMethod::Card, short_cvv),
            (
                PaymentMethod::Upi,
                PaymentDetailsInput {
                    card: None,
                    upi: Some(UpiInput {
                        vpa: "no-at-sign".into(),
                    }),
                    net_banking: None,
                },
            ),
            (
                PaymentMethod::NetBanking,
                PaymentDetailsInput {
                    card: None,
                    upi: None,
                    net_banking: Some(NetBankingInput {
                        bank_code: "XXXX".into(),
                    }),
                },
            ),
            (PaymentMethod::Upi, card("4111111111111111")),
        ];
        for (method, details) in cases {
            let error = validate(method, &details, today()).expect_err("refused");
            assert_eq!(error.code(), crate::error::ErrorCode::InvalidPaymentDetails);
        }
    }
}
