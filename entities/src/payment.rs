//! One attempt to pay for a booking, by one method.

use sea_orm::entity::prelude::*;

/// How the fan pays.
#[derive(Clone, Copy, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum PaymentMethod {
    #[sea_orm(string_value = "CARD")]
    Card,
    #[sea_orm(string_value = "UPI")]
    Upi,
    #[sea_orm(string_value = "NET_BANKING")]
    NetBanking,
}

/// Where a payment attempt is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum PaymentStatus {
    /// Sent to the provider, no answer yet.
    #[sea_orm(string_value = "PENDING")]
    Pending,
    /// Money captured (at most one per booking).
    #[sea_orm(string_value = "SUCCEEDED")]
    Succeeded,
    /// Declined or timed out; see `failure_code`.
    #[sea_orm(string_value = "FAILED")]
    Failed,
    /// Captured, then given back.
    #[sea_orm(string_value = "REFUNDED")]
    Refunded,
}

/// One row of `payments`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "payments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub booking_id: Uuid,
    pub method: PaymentMethod,
    pub status: PaymentStatus,
    pub amount_minor: i64,
    pub currency: String,
    /// `SIMULATED`, or a real provider's name.
    pub provider: String,
    /// The provider's id for this attempt.
    pub provider_ref: Option<String>,
    pub failure_code: Option<String>,
    pub failure_message: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::booking::Entity",
        from = "Column::BookingId",
        to = "super::booking::Column::Id"
    )]
    Booking,
}

impl Related<super::booking::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Booking.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
