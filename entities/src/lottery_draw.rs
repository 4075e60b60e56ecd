//! The audit record of an event's presale lottery: seed and input, enough to redo the draw.

use sea_orm::entity::prelude::*;

/// One row of `lottery_draws`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "lottery_draws")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub event_id: i64,
    /// The seed, 64 hex digits (the committed one since `sha256-sort-v1`).
    pub seed: String,
    /// Presale fans in sorted order: the draw's input.
    pub fans: Vec<String>,
    pub fan_count: i32,
    pub drawn_at: DateTimeUtc,
    /// `sha256-sort-v1`, or `chacha20-shuffle-v0` for draws made before commitments.
    pub algorithm: String,
    /// The fans' entrant ids in drawn order (null for `chacha20-shuffle-v0` draws).
    pub entrants: Option<Vec<String>>,
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
}

impl Related<super::event::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Event.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
