//! A fan or an admin. Emails are unique case-insensitively (an index on `lower(email)`).

use sea_orm::entity::prelude::*;

/// What a user may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum Role {
    /// Buys tickets.
    #[sea_orm(string_value = "FAN")]
    Fan,
    /// Runs the queue and the sale.
    #[sea_orm(string_value = "ADMIN")]
    Admin,
}

/// One row of `users`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub email: String,
    /// An argon2id PHC string; never the password.
    pub password_hash: String,
    pub display_name: String,
    pub role: Role,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::hold::Entity")]
    Hold,
    #[sea_orm(has_many = "super::booking::Entity")]
    Booking,
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
