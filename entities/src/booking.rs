//! A fan's order: seats from a hold, an amount computed on the server, and its payment state.

use sea_orm::entity::prelude::*;

/// Where a booking is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum BookingStatus {
    /// Created from a hold; waiting for money.
    #[sea_orm(string_value = "PENDING_PAYMENT")]
    PendingPayment,
    /// The last attempt was declined; may be retried while the hold lives.
    #[sea_orm(string_value = "PAYMENT_FAILED")]
    PaymentFailed,
    /// Paid: its seats are BOOKED.
    #[sea_orm(string_value = "CONFIRMED")]
    Confirmed,
    /// The fan cancelled before paying.
    #[sea_orm(string_value = "CANCELLED")]
    Cancelled,
    /// The hold ran out before payment.
    #[sea_orm(string_value = "EXPIRED")]
    Expired,
    /// Cancelled after payment; the money went back.
    #[sea_orm(string_value = "REFUNDED")]
    Refunded,
}

/// One row of `bookings`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "bookings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Short code a person can read out, e.g. `CLD-7K3F9Q`.
    #[sea_orm(unique)]
    pub reference: String,
    pub event_id: i64,
    pub user_id: Uuid,
    pub hold_id: Option<Uuid>,
    pub status: BookingStatus,
    /// Sum of the seats' prices, in minor units.
    pub amount_minor: i64,
    pub currency: String,
    #[sea_orm(unique)]
    pub payment_intent: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub confirmed_at: Option<DateTimeUtc>,
    pub cancelled_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::event::Entity",
        from = "Column::EventId",
        to = "super::event::Column::Id"
    )]
    Event,
    #[sea_orm(
        belongs_to = "super::user::Entity",
        from = "Column::UserId",
        to = "super::user::Column::Id"
    )]
    User,
    #[sea_orm(
        belongs_to = "super::hold::Entity",
        from = "Column::HoldId",
        to = "super::hold::Column::Id"
    )]
    Hold,
    #[sea_orm(has_many = "super::booking_seat::Entity")]
    BookingSeat,
    #[sea_orm(has_many = "super::payment::Entity")]
    Payment,
}

impl Related<super::event::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Event.def()
    }
}

impl Related<super::user::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::User.def()
    }
}

impl Related<super::hold::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Hold.def()
    }
}

impl Related<super::booking_seat::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::BookingSeat.def()
    }
}

impl Related<super::payment::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Payment.def()
    }
}

impl Related<super::seat::Entity> for Entity {
    fn to() -> RelationDef {
        super::booking_seat::Relation::Seat.def()
    }

    fn via() -> Option<RelationDef> {
        Some(super::booking_seat::Relation::Booking.def().rev())
    }
}

impl ActiveModelBehavior for ActiveModel {}
