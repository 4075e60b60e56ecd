//! Runs a migration step written as plain SQL.

use sea_orm_migration::prelude::*;

/// Declares a migration whose `up` and `down` are SQL scripts.
macro_rules! sql_migration {
    (up: $up:expr, down: $down:expr $(,)?) => {
        /// This step of the schema (see the module's SQL for what it creates).
        #[derive(Debug, sea_orm_migration::prelude::DeriveMigrationName)]
        pub struct Migration;

        // The trait itself is declared with an elided lifetime; matching it needs the same.
        #[expect(elided_lifetimes_in_paths)]
        #[sea_orm_migration::prelude::async_trait::async_trait]
        impl sea_orm_migration::prelude::MigrationTrait for Migration {
            async fn up(
                &self,
                manager: &sea_orm_migration::prelude::SchemaManager,
            ) -> Result<(), sea_orm_migration::prelude::DbErr> {
                $crate::sql::run(manager, $up).await
            }

            async fn down(
                &self,
                manager: &sea_orm_migration::prelude::SchemaManager,
            ) -> Result<(), sea_orm_migration::prelude::DbErr> {
                $crate::sql::run(manager, $down).await
            }
        }
    };
}
pub(crate) use sql_migration;

/// Executes a script of several statements in the migration's transaction.
pub(crate) async fn run(manager: &SchemaManager<'_>, script: &str) -> Result<(), DbErr> {
    manager
        .get_connection()
        .execute_unprepared(script)
        .await
        .map(|_| ())
}
