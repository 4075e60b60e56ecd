//! Small helpers shared by the tests: rows made directly in the database.

use chrono::{Duration, Utc};
use sea_orm::{ConnectionTrait as _, DatabaseConnection, Statement};
use uuid::Uuid;

/// Inserts a fan; returns their id.
pub async fn insert_user(db: &DatabaseConnection, email: &str) -> Uuid {
    let id = Uuid::now_v7();
    db.execute_raw(Statement::from_sql_and_values(
        db.get_database_backend(),
        "INSERT INTO users (id, email, password_hash, display_name) VALUES ($1, $2, 'x', 'Fan')",
        [id.into(), email.into()],
    ))
    .await
    .expect("inserting a user");
    id
}

/// Inserts an ACTIVE hold on `seat_ids` for `user`, expiring in `seconds` (negative: already
/// expired), and marks the seats HELD; returns the hold id.
pub async fn hold_seats(
    db: &DatabaseConnection,
    event_id: i64,
    user: Uuid,
    seat_ids: &[i64],
    seconds: i64,
) -> Uuid {
    let id = Uuid::now_v7();
    let until = Utc::now() + Duration::seconds(seconds);
    db.execute_raw(Statement::from_sql_and_values(
        db.get_database_backend(),
        "INSERT INTO holds (id, event_id, user_id, seat_count, held_until) VALUES ($1, $2, $3, $4, $5)",
        [id.into(), event_id.into(), user.into(), (seat_ids.len() as i32).into(), until.into()],
    ))
    .await
    .expect("inserting a hold");
    let list = seat_ids
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(",");
    db.execute_raw(Statement::from_sql_and_values(
        db.get_database_backend(),
        format!(
            "UPDATE seats SET status = 'HELD', hold_id = $1, held_until = $2, version = version + 1 \
             WHERE id IN ({list})"
        ),
        [id.into(), until.into()],
    ))
    .await
    .expect("holding seats");
    id
}

/// The ids of an event's first `n` seats.
pub async fn first_seat_ids(db: &DatabaseConnection, event_id: i64, n: u64) -> Vec<i64> {
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            "SELECT id FROM seats WHERE event_id = $1 ORDER BY id LIMIT $2",
            [event_id.into(), (n as i64).into()],
        ))
        .await
        .expect("listing seats");
    rows.iter()
        .map(|row| row.try_get::<i64>("", "id").expect("id"))
        .collect()
}
