//! A show with a sale: where, when, and how the gate treats it.

use sea_orm::entity::prelude::*;

/// Where an event is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum EventStatus {
    /// Announced; the sale opens at `sale_opens_at`.
    #[sea_orm(string_value = "SCHEDULED")]
    Scheduled,
    /// Selling now.
    #[sea_orm(string_value = "ON_SALE")]
    OnSale,
    /// Every seat is booked.
    #[sea_orm(string_value = "SOLD_OUT")]
    SoldOut,
    /// The sale has ended.
    #[sea_orm(string_value = "CLOSED")]
    Closed,
    /// The show will not take place.
    #[sea_orm(string_value = "CANCELLED")]
    Cancelled,
}

/// One row of `events`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Stable name for scripts and URLs, e.g. `coldplay-mumbai-2026`.
    #[sea_orm(unique)]
    pub slug: String,
    pub name: String,
    pub artist: String,
    pub venue: String,
    pub city: String,
    pub starts_at: DateTimeUtc,
    pub sale_opens_at: DateTimeUtc,
    pub status: EventStatus,
    /// When false the sale routes pass without an admission token.
    pub gate_enabled: bool,
    pub max_seats_per_fan: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::seat_category::Entity")]
    SeatCategory,
    #[sea_orm(has_many = "super::seat::Entity")]
    Seat,
    #[sea_orm(has_many = "super::hold::Entity")]
    Hold,
    #[sea_orm(has_many = "super::booking::Entity")]
    Booking,
}

impl Related<super::seat_category::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::SeatCategory.def()
    }
}

impl Related<super::seat::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Seat.def()
    }
}

impl Related<super::hold::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Hold.def()
    }
}

impl Related<super::booking::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Booking.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
