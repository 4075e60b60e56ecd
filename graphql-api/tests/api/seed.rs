//! Seeding: the demo show, idempotence, and large events.

use graphql_api::seed;
use graphql_api::testing::TestDb;
use sea_orm::{ConnectionTrait as _, Statement};

async fn count(db: &sea_orm::DatabaseConnection, sql: &str) -> i64 {
    db.query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .expect("query")
        .expect("row")
        .try_get_by_index::<i64>(0)
        .expect("count")
}

#[tokio::test]
async fn seeding_the_demo_twice_changes_nothing() {
    let db = TestDb::new().await;

    let first = seed::seed_demo(&db.connection).await.expect("first seed");
    let seats_after_first = count(&db.connection, "SELECT count(*) FROM seats").await;
    let second = seed::seed_demo(&db.connection).await.expect("second seed");

    assert!(first.created);
    assert!(!second.created);
    assert_eq!(first.event_id, second.event_id);
    assert_eq!(first.seats, u64::from(seed::DEMO_SEATS));
    assert_eq!(
        count(&db.connection, "SELECT count(*) FROM seats").await,
        seats_after_first
    );
    assert_eq!(
        count(&db.connection, "SELECT count(*) FROM events").await,
        1
    );
    assert_eq!(
        count(&db.connection, "SELECT count(*) FROM seat_categories").await,
        3
    );
}

#[tokio::test]
async fn the_demo_has_at_least_ten_thousand_seats_in_named_sections_and_rows() {
    let db = TestDb::new().await;

    seed::seed_demo(&db.connection).await.expect("seed");

    assert!(count(&db.connection, "SELECT count(*) FROM seats").await >= 10_000);
    assert!(count(&db.connection, "SELECT count(DISTINCT section) FROM seats").await >= 20);
    assert_eq!(
        count(
            &db.connection,
            "SELECT count(*) FROM seats WHERE status <> 'AVAILABLE'"
        )
        .await,
        0
    );
    // Every category has seats, and the cheapest has the most.
    assert_eq!(
        count(
            &db.connection,
            "SELECT count(*) FROM (SELECT c.name FROM seat_categories c JOIN seats s ON s.category_id = c.id \
             GROUP BY c.name ORDER BY count(*) DESC LIMIT 1) t WHERE t.name = 'Silver'"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn concurrent_seeds_of_one_event_make_it_once() {
    let db = TestDb::new().await;
    let spec = seed::load_test_spec(2_000);

    let (a, b) = tokio::join!(
        seed::seed_event(&db.connection, &spec),
        seed::seed_event(&db.connection, &spec)
    );

    let (a, b) = (a.expect("first"), b.expect("second"));
    assert_eq!(a.event_id, b.event_id);
    assert_eq!(
        u8::from(a.created) + u8::from(b.created),
        1,
        "exactly one created it"
    );
    assert_eq!(
        count(&db.connection, "SELECT count(*) FROM seats").await,
        2_000
    );
}
