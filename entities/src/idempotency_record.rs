//! The first result of a creating mutation, so a retry with the same key gets it again.

use sea_orm::entity::prelude::*;

/// Whether the first request with a key has finished.
#[derive(Clone, Copy, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum IdempotencyStatus {
    /// The first request is still running; a retry now gets "in progress".
    #[sea_orm(string_value = "IN_PROGRESS")]
    InProgress,
    /// `response` holds the first result.
    #[sea_orm(string_value = "COMPLETED")]
    Completed,
}

/// One row of `idempotency_records`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "idempotency_records")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub key: String,
    /// The mutation's name.
    pub operation: String,
    /// SHA-256 of the mutation's input.
    pub request_hash: Vec<u8>,
    pub status: IdempotencyStatus,
    pub response: Option<Json>,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::user::Entity",
        from = "Column::UserId",
        to = "super::user::Column::Id",
        on_delete = "Cascade"
    )]
    User,
}

impl Related<super::user::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::User.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
