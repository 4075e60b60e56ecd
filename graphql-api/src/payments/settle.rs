//! Paying a booking: recording a PENDING payment, asking the provider, and [`settle`], the
//! one state machine every payment goes through (direct answers, webhooks and the sweep of
//! abandoned payments alike).

use std::{sync::LazyLock, time::Duration};

use anyhow::Context as _;
use chrono::Utc;
use entities::{
    booking::{self, BookingStatus},
    hold::HoldStatus,
    payment::PaymentStatus,
};
use sea_orm::{ConnectionTrait as _, DatabaseTransaction, Statement, TransactionTrait as _};
use uuid::Uuid;

use super::{Outcome, PaymentDetailsInput, PaymentMethod, ask, validate};
use crate::{
    db::literal,
    error::{ApiError, ApiResult},
    idempotency::Claim,
    inventory, queue,
    state::AppState,
};

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
    let outcome = ask(
        method,
        &value,
        Duration::from_millis(state.config().payment_timeout_ms),
    )
    .await;
    settle(state, payment_id, &outcome, claim).await?;
    Ok(payment_id)
}

/// Refuses bookings that cannot take a payment.
pub fn payable(found: &booking::Model) -> ApiResult<()> {
    payable_status(found.status)
}

/// Refuses a booking status that cannot take a payment.
pub fn payable_status(status: BookingStatus) -> ApiResult<()> {
    match status {
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
        "INSERT INTO payments (id, booking_id, method, status, amount_minor, currency) VALUES ($1, $2, $3, $6, $4, $5)",
        [
            id.into(),
            found.id.into(),
            method.db().into(),
            found.amount_minor.into(),
            found.currency.clone().into(),
            PaymentStatus::Pending.into(),
        ],
    ))
    .await
    .context("recording a payment")?;
    Ok(id)
}

/// $1 payment: it and its booking, locked, with whether the booking's hold still runs.
static LOCK_PAYMENT: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT p.status AS payment_status, b.id AS booking_id, b.status AS booking_status, b.hold_id, \
                b.event_id, b.user_id, \
                (SELECT h.status = {active} AND h.held_until > now() FROM holds h WHERE h.id = b.hold_id) AS hold_live \
         FROM payments p JOIN bookings b ON b.id = p.booking_id WHERE p.id = $1 FOR UPDATE OF p, b",
        active = literal(&HoldStatus::Active),
    )
});

/// $1 seconds, $2 limit: payments still pending that long after they were recorded.
static STALE_PAYMENTS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT id FROM payments WHERE status = {pending} \
           AND created_at < now() - make_interval(secs => $1) \
         ORDER BY created_at LIMIT $2",
        pending = literal(&PaymentStatus::Pending),
    )
});

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
            LOCK_PAYMENT.as_str(),
            [payment_id.into()],
        ))
        .await
        .context("locking a payment and its booking")?
        .ok_or_else(|| anyhow::anyhow!("payment {payment_id} not found"))?;
    let payment_status: PaymentStatus = row
        .try_get("", "payment_status")
        .context("payment status")?;
    let booking_id: Uuid = row.try_get("", "booking_id").context("booking id")?;
    let booking_status: BookingStatus = row
        .try_get("", "booking_status")
        .context("booking status")?;
    let hold_id: Option<Uuid> = row.try_get("", "hold_id").context("hold id")?;
    let event: i64 = row.try_get("", "event_id").context("event id")?;
    let user: Uuid = row.try_get("", "user_id").context("user id")?;
    let hold_live: Option<bool> = row.try_get("", "hold_live").context("hold live")?;
    if payment_status != PaymentStatus::Pending {
        // Settled already (a webhook and the direct answer may both arrive).
        return Ok(());
    }
    let provider_ref = match outcome {
        Outcome::Declined { code, message } => {
            let error = ApiError::PaymentDeclined(message.clone());
            return fail(tx, payment_id, Some(booking_id), (code, message), error).await;
        }
        Outcome::TimedOut => {
            let reason = (
                "PAYMENT_TIMEOUT",
                "The payment provider did not answer in time.",
            );
            let error = ApiError::PaymentTimeout;
            return fail(tx, payment_id, Some(booking_id), reason, error).await;
        }
        Outcome::Approved { provider_ref } => provider_ref.clone(),
    };
    if booking_status == BookingStatus::Confirmed {
        let reason = ("ALREADY_PAID", "Voided: the booking was already paid.");
        return fail(tx, payment_id, None, reason, ApiError::AlreadyPaid).await;
    }
    let (Some(hold_id), true, true) = (
        hold_id,
        hold_live == Some(true),
        matches!(
            booking_status,
            BookingStatus::PendingPayment | BookingStatus::PaymentFailed
        ),
    ) else {
        return fail(tx, payment_id, None, NO_LONGER_HELD, ApiError::HoldExpired).await;
    };
    let Some(changes) = inventory::book(&tx, booking_id, hold_id).await? else {
        // Some seat slipped away (taken after its hold ran out): undo, and void.
        tx.rollback().await.context("rolling back a settlement")?;
        let tx = db.begin().await.context("starting a void")?;
        return fail(tx, payment_id, None, NO_LONGER_HELD, ApiError::HoldExpired).await;
    };
    tx.execute_raw(Statement::from_sql_and_values(
        backend,
        "UPDATE payments SET status = $3, provider_ref = $2, updated_at = now() WHERE id = $1",
        [
            payment_id.into(),
            provider_ref.into(),
            PaymentStatus::Succeeded.into(),
        ],
    ))
    .await
    .context("capturing")?;
    if let Some(claim) = claim {
        claim.complete(&tx, payment_id).await?;
    }
    tx.commit().await.context("committing a payment")?;
    inventory::publish(state, event, &changes).await;
    // The fan bought: their admission ends and the next fan gets the slot.
    if let Err(error) = queue::complete_admission(state, event, user).await {
        tracing::warn!(%error, "ending an admission after a purchase failed");
    }
    Ok(())
}

/// Why an approved payment was voided when its seats were gone.
const NO_LONGER_HELD: (&str, &str) = ("HOLD_EXPIRED", "Voided: the seats were no longer held.");

/// Records why a payment failed (or was voided), and for a decline or a timeout that its
/// `booking` may be paid again; commits; answers `error`.
async fn fail(
    tx: DatabaseTransaction,
    payment_id: Uuid,
    booking: Option<Uuid>,
    (code, message): (&str, &str),
    error: ApiError,
) -> ApiResult<()> {
    let backend = tx.get_database_backend();
    tx.execute_raw(Statement::from_sql_and_values(
        backend,
        "UPDATE payments SET status = $2, failure_code = $3, failure_message = $4, updated_at = now() WHERE id = $1",
        [
            payment_id.into(),
            PaymentStatus::Failed.into(),
            code.into(),
            message.into(),
        ],
    ))
    .await
    .context("recording a failed payment")?;
    if let Some(booking) = booking {
        tx.execute_raw(Statement::from_sql_and_values(
            backend,
            "UPDATE bookings SET status = $2, updated_at = now() WHERE id = $1 AND status IN ($2, $3)",
            [
                booking.into(),
                BookingStatus::PaymentFailed.into(),
                BookingStatus::PendingPayment.into(),
            ],
        ))
        .await
        .context("marking the booking")?;
    }
    tx.commit().await.context("committing a failed payment")?;
    Err(error)
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
            STALE_PAYMENTS.as_str(),
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
