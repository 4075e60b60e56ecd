//! Payments: simulated card, UPI and net banking (test values in `docs/sale-api.md`), the
//! one state machine every payment goes through ([`settle`]), and the signed provider
//! webhook ([`webhook`]).
//!
//! A payment is first recorded PENDING, then the provider answers, then [`settle`] applies
//! the answer in one transaction: on success the booking's seats turn BOOKED, the booking
//! CONFIRMED and the hold CONVERTED together, or nothing changes and the authorization is
//! voided (FAILED), never captured. So money captured always equals the confirmed bookings.

pub mod charge;
pub mod provider;
pub mod settle;
pub mod webhook;

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};

pub use self::{
    charge::{Charged, charge},
    provider::{Outcome, ask, simulate, validate},
    settle::{pay, payable, settle, start, sweep_abandoned},
};
pub use crate::booking::{Payment, PaymentMethod, PaymentStatus};
use crate::{
    booking::{Booking, assemble, view_one},
    error::{ApiError, ApiResult},
    inventory,
    sale::{parse_uuid, sale_context},
};

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
        let charged = charge(
            state,
            scope.event.id,
            buyer.user_id,
            booking_id,
            method,
            &details,
            &idempotency_key,
        )
        .await?;
        let (booking, payment_id) = match charged {
            Charged::New {
                payment_id,
                captured,
            } => {
                let categories = inventory::categories(state, scope.event.id).await?;
                let booking = assemble(
                    state,
                    &captured.booking,
                    &captured.seats,
                    &categories,
                    &captured.payments,
                    None,
                )
                .await?;
                (booking, payment_id)
            }
            Charged::Existing(payment_id) => (
                view_one(state, buyer.user_id, Some(scope.event.id), booking_id).await?,
                payment_id,
            ),
        };
        let payment = booking
            .payments
            .iter()
            .find(|payment| payment.id.0 == payment_id.to_string())
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("payment {payment_id} vanished"))?;
        Ok(PaymentResult { booking, payment })
    }
}
