//! Every migration can be rolled back, and applied again.

use graphql_api::testing::TestDb;
use migrations::{Migrator, MigratorTrait as _};
use sea_orm::{ConnectionTrait as _, Statement};

/// Tables, indexes and sequences of the schema (a migration may add only an index).
async fn relations(db: &sea_orm::DatabaseConnection) -> Vec<String> {
    db.query_all_raw(Statement::from_string(
        db.get_database_backend(),
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = 'public' AND c.relkind IN ('r', 'i', 'S') \
           AND c.relname NOT LIKE 'seaql\\_migrations%' ORDER BY 1",
    ))
    .await
    .expect("relations")
    .iter()
    .map(|row| row.try_get::<String>("", "relname").expect("name"))
    .collect()
}

#[tokio::test]
async fn every_migration_rolls_back_one_by_one_and_reapplies() {
    let db = TestDb::new().await;
    let db = &db.connection;
    let migrated = relations(db).await;
    assert!(migrated.contains(&"seats".to_owned()), "{migrated:?}");
    assert!(
        migrated.contains(&"payments_pending_by_age".to_owned()),
        "{migrated:?}"
    );

    let steps = Migrator::migrations().len();
    let mut remaining = migrated.len();
    for _ in 0..steps {
        Migrator::down(db, Some(1)).await.expect("one step down");
        let now = relations(db).await.len();
        assert!(now < remaining, "each down removes something");
        remaining = now;
    }
    assert!(
        relations(db).await.is_empty(),
        "nothing left after every down"
    );

    Migrator::up(db, None).await.expect("up again");
    assert_eq!(relations(db).await, migrated);
}
