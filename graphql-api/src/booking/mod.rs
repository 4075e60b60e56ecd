//! Bookings: a hold turned into an order with a server-computed total and a payment intent
//! ([`create`]), cancelling it (a refund once paid, [`cancel`]), and how a fan sees them
//! ([`views`]), with `myBookings` on the public schema.

pub mod cancel;
pub mod create;
pub mod payment_view;
pub mod views;

use anyhow::Context as _;
use async_graphql::{Context, Enum, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entities::booking;
use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _, QueryOrder as _};

pub use self::{
    cancel::cancel,
    create::{Made, create, make, reference},
    payment_view::{Payment, PaymentMethod, PaymentStatus},
    views::{assemble, load, view_one, views},
};
use crate::{
    auth::AuthContext as _,
    context::ContextExt as _,
    error::{ApiError, ApiResult},
    events::Event,
    inventory,
    money::Money,
    sale::{parse_uuid, sale_context},
    seats::Seat,
    state::AppState,
};

/// Where a booking is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
pub enum BookingStatus {
    PendingPayment,
    PaymentFailed,
    Confirmed,
    Cancelled,
    Expired,
    Refunded,
}

impl From<booking::BookingStatus> for BookingStatus {
    fn from(status: booking::BookingStatus) -> Self {
        match status {
            booking::BookingStatus::PendingPayment => BookingStatus::PendingPayment,
            booking::BookingStatus::PaymentFailed => BookingStatus::PaymentFailed,
            booking::BookingStatus::Confirmed => BookingStatus::Confirmed,
            booking::BookingStatus::Cancelled => BookingStatus::Cancelled,
            booking::BookingStatus::Expired => BookingStatus::Expired,
            booking::BookingStatus::Refunded => BookingStatus::Refunded,
        }
    }
}

/// A fan's order.
#[derive(Clone, Debug, SimpleObject)]
pub struct Booking {
    pub id: ID,
    /// What the fan reads out at the gate, e.g. `COL-7K3F9Q`.
    pub reference: String,
    pub status: BookingStatus,
    pub seats: Vec<Seat>,
    /// Computed on the server from the seats' category prices.
    pub total: Money,
    /// The payment intent to pay (also what a provider's webhook names).
    pub payment_intent: String,
    /// Until when it can be paid (its hold's expiry), while unpaid.
    pub hold_expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub payments: Vec<Payment>,
    pub event: Event,
}

/// Public booking queries.
#[derive(Default)]
pub struct BookingsQuery;

#[Object]
impl BookingsQuery {
    /// The signed-in fan's bookings, newest first.
    async fn my_bookings(&self, ctx: &Context<'_>) -> ApiResult<Vec<Booking>> {
        let identity = ctx.identity()?;
        let state = ctx.api_data::<AppState>()?;
        let rows = booking::Entity::find()
            .filter(booking::Column::UserId.eq(identity.user_id))
            .order_by_desc(booking::Column::CreatedAt)
            .all(state.db())
            .await
            .context("listing bookings")?;
        views(state, &rows).await
    }
}

/// Public booking mutations.
#[derive(Default)]
pub struct BookingsMutation;

#[Object]
impl BookingsMutation {
    /// Cancels one of the signed-in fan's bookings: an unpaid one frees its seats, a paid one
    /// is refunded and frees them.
    async fn cancel_booking(&self, ctx: &Context<'_>, booking_id: ID) -> ApiResult<Booking> {
        let identity = ctx.identity()?;
        let state = ctx.api_data::<AppState>()?;
        let id = parse_uuid(&booking_id, ApiError::BookingNotFound)?;
        cancel(state, identity.user_id, None, id).await
    }
}

/// Sale-schema booking queries.
#[derive(Default)]
pub struct SaleBookingsQuery;

#[Object]
impl SaleBookingsQuery {
    /// One of the buyer's bookings in this event.
    async fn booking(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Booking> {
        let (state, scope, buyer) = sale_context(ctx)?;
        let id = parse_uuid(&id, ApiError::BookingNotFound)?;
        view_one(state, buyer.user_id, Some(scope.event.id), id).await
    }
}

/// Sale-schema booking mutations.
#[derive(Default)]
pub struct SaleBookingsMutation;

#[Object]
impl SaleBookingsMutation {
    /// Turns a live hold into a booking awaiting payment (one per hold: asking again returns
    /// the same booking).
    async fn create_booking(
        &self,
        ctx: &Context<'_>,
        hold_id: ID,
        idempotency_key: String,
    ) -> ApiResult<Booking> {
        let (state, scope, buyer) = sale_context(ctx)?;
        let hold_id = parse_uuid(&hold_id, ApiError::HoldNotFound)?;
        match make(
            state,
            &scope.event,
            buyer.user_id,
            hold_id,
            Some(&idempotency_key),
        )
        .await?
        {
            Made::New {
                booking,
                seats,
                hold_until,
            } => {
                let categories = inventory::categories(state, scope.event.id).await?;
                assemble(state, &booking, &seats, &categories, &[], Some(hold_until)).await
            }
            Made::Existing(id) => view_one(state, buyer.user_id, Some(scope.event.id), id).await,
        }
    }

    /// Cancels one of the buyer's bookings in this event (refunding it if paid).
    async fn cancel_booking(&self, ctx: &Context<'_>, booking_id: ID) -> ApiResult<Booking> {
        let (state, scope, buyer) = sale_context(ctx)?;
        let id = parse_uuid(&booking_id, ApiError::BookingNotFound)?;
        cancel(state, buyer.user_id, Some(scope.event.id), id).await
    }
}
