//! One seat of one event, with its state. Postgres, not Redis, owns this state.

use sea_orm::entity::prelude::*;

/// A seat's state. The database ties HELD to a live hold and BOOKED to a confirmed booking.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum SeatStatus {
    /// Free to hold.
    #[sea_orm(string_value = "AVAILABLE")]
    Available,
    /// Held by an ACTIVE hold until `held_until` (free again once that has passed).
    #[sea_orm(string_value = "HELD")]
    Held,
    /// Sold, in exactly one confirmed booking.
    #[sea_orm(string_value = "BOOKED")]
    Booked,
}

/// One row of `seats`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "seats")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub event_id: i64,
    pub category_id: i64,
    /// Section code, e.g. `L105`.
    pub section: String,
    pub row_label: String,
    pub number: i32,
    /// Position on the venue plan (about 10 units per seat).
    pub x: i32,
    pub y: i32,
    pub status: SeatStatus,
    pub hold_id: Option<Uuid>,
    pub held_until: Option<DateTimeUtc>,
    pub booking_id: Option<Uuid>,
    /// Bumped on every change of state.
    pub version: i64,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::event::Entity",
        from = "Column::EventId",
        to = "super::event::Column::Id",
        on_delete = "Cascade"
    )]
    Event,
    #[sea_orm(
        belongs_to = "super::seat_category::Entity",
        from = "Column::CategoryId",
        to = "super::seat_category::Column::Id"
    )]
    SeatCategory,
    #[sea_orm(
        belongs_to = "super::hold::Entity",
        from = "Column::HoldId",
        to = "super::hold::Column::Id"
    )]
    Hold,
    #[sea_orm(
        belongs_to = "super::booking::Entity",
        from = "Column::BookingId",
        to = "super::booking::Column::Id"
    )]
    Booking,
    #[sea_orm(has_many = "super::booking_seat::Entity")]
    BookingSeat,
}

impl Related<super::event::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Event.def()
    }
}

impl Related<super::seat_category::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::SeatCategory.def()
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

impl Related<super::booking_seat::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::BookingSeat.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
