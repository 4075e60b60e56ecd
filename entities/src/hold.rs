//! A fan's all-or-nothing hold on some seats, for a limited time.

use sea_orm::entity::prelude::*;

/// Where a hold is in its life. Only an ACTIVE hold can cover seats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum HoldStatus {
    /// Covers its seats until `held_until`.
    #[sea_orm(string_value = "ACTIVE")]
    Active,
    /// The fan let the seats go.
    #[sea_orm(string_value = "RELEASED")]
    Released,
    /// Time ran out.
    #[sea_orm(string_value = "EXPIRED")]
    Expired,
    /// Paid for: its seats are now BOOKED.
    #[sea_orm(string_value = "CONVERTED")]
    Converted,
}

/// One row of `holds`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "holds")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub event_id: i64,
    pub user_id: Uuid,
    pub status: HoldStatus,
    pub seat_count: i32,
    pub held_until: DateTimeUtc,
    pub extensions_used: i32,
    pub created_at: DateTimeUtc,
    pub ended_at: Option<DateTimeUtc>,
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
        belongs_to = "super::user::Entity",
        from = "Column::UserId",
        to = "super::user::Column::Id"
    )]
    User,
    #[sea_orm(has_many = "super::seat::Entity")]
    Seat,
    #[sea_orm(has_many = "super::booking::Entity")]
    Booking,
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

impl Related<super::seat::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Seat.def()
    }
}

impl Related<super::booking::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Booking.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
