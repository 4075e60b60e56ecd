//! SeaORM entities, one module per table, with their relations and state enums.
//!
//! They know nothing of GraphQL: the API maps them into its own types. Generated columns
//! (`seats.hold_state`, `seats.booked_state`) exist only to carry foreign keys and are left
//! out of the models on purpose.
//!
//! - [`user`]: fans and admins.
//! - [`event`], [`seat_category`], [`seat`]: what is on sale.
//! - [`hold`], [`booking`], [`booking_seat`], [`payment`]: who is buying it.
//! - [`idempotency_record`]: first results of creating mutations.
//! - [`refresh_token`]: rotating sign-in refresh tokens, hashed.
//! - [`lottery_commitment`], [`lottery_draw`]: a presale lottery's committed seed and its draw.
//! - [`payment_webhook_event`]: provider events applied once.

pub mod booking;
pub mod booking_seat;
pub mod event;
pub mod hold;
pub mod idempotency_record;
pub mod lottery_commitment;
pub mod lottery_draw;
pub mod payment;
pub mod payment_webhook_event;
pub mod refresh_token;
pub mod seat;
pub mod seat_category;
pub mod user;

/// The entities, for `use entities::prelude::*`.
pub mod prelude {
    pub use crate::booking::Entity as Booking;
    pub use crate::booking_seat::Entity as BookingSeat;
    pub use crate::event::Entity as Event;
    pub use crate::hold::Entity as Hold;
    pub use crate::idempotency_record::Entity as IdempotencyRecord;
    pub use crate::lottery_commitment::Entity as LotteryCommitment;
    pub use crate::lottery_draw::Entity as LotteryDraw;
    pub use crate::payment::Entity as Payment;
    pub use crate::payment_webhook_event::Entity as PaymentWebhookEvent;
    pub use crate::refresh_token::Entity as RefreshToken;
    pub use crate::seat::Entity as Seat;
    pub use crate::seat_category::Entity as SeatCategory;
    pub use crate::user::Entity as User;
}
