//! Every migration can be rolled back, and applied again.

use graphql_api::testing::TestDb;
use migrations::{Migrator, MigratorTrait as _};
use sea_orm::{ConnectionTrait as _, Statement};

async fn tables(db: &sea_orm::DatabaseConnection) -> Vec<String> {
    db.query_all_raw(Statement::from_string(
        db.get_database_backend(),
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'seaql_migrations' ORDER BY 1",
    ))
    .await
    .expect("tables")
    .iter()
    .map(|row| row.try_get::<String>("", "tablename").expect("name"))
    .collect()
}

#[tokio::test]
async fn every_migration_rolls_back_one_by_one_and_reapplies() {
    let db = TestDb::new().await;
    let db = &db.connection;
    let migrated = tables(db).await;
    assert!(migrated.contains(&"seats".to_owned()), "{migrated:?}");

    let steps = Migrator::migrations().len();
    let mut remaining = migrated.len();
    for _ in 0..steps {
        Migrator::down(db, Some(1)).await.expect("one step down");
        let now = tables(db).await.len();
        assert!(now < remaining, "each down removes something");
        remaining = now;
    }
    assert!(tables(db).await.is_empty(), "nothing left after every down");

    Migrator::up(db, None).await.expect("up again");
    assert_eq!(tables(db).await, migrated);
}
