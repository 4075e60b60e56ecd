//! A randomized run of interleaved locks, releases, extensions, expiries, bookings,
//! payments (good and declined), cancellations and refunds, checking the sale's invariants
//! after every step.

use graphql_api::{
    booking, holds,
    payments::{self, PaymentMethod},
    sale::Buyer,
    testing::TestApp,
};
use rand::{Rng as _, SeedableRng as _, seq::IndexedRandom as _};
use rand_chacha::ChaCha8Rng;
use sea_orm::{ConnectionTrait as _, Statement};
use uuid::Uuid;

use crate::sale_support::{assert_invariants, card_details, seat_ids};

async fn ids(db: &sea_orm::DatabaseConnection, sql: &str, user: Uuid) -> Vec<Uuid> {
    db.query_all_raw(Statement::from_sql_and_values(
        sea_orm::DbBackend::Postgres,
        sql,
        [user.into()],
    ))
    .await
    .expect("query")
    .iter()
    .map(|row| row.try_get_by_index::<Uuid>(0).expect("id"))
    .collect()
}

#[tokio::test]
async fn interleaved_sale_operations_keep_every_invariant_after_every_step() {
    let app = TestApp::spawn().await;
    let state = &app.instance.state;
    let db = &app.db.connection;
    let event_id = app.seed_event(40).await;
    let event = graphql_api::events::find_event_by_id(state, event_id)
        .await
        .expect("event");
    let seats = seat_ids(db, event_id, 40).await;
    let buyers: Vec<Buyer> = (0..8)
        .map(|_| Buyer {
            user_id: Uuid::now_v7(),
            cap: 4,
            admission: None,
        })
        .collect();
    for buyer in &buyers {
        app.ensure_user(buyer.user_id).await;
    }
    let mut succeeded = std::collections::BTreeMap::<&str, u32>::new();
    let seed = std::env::var("SALE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_261_125u64);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut done = std::collections::BTreeMap::<&str, u32>::new();

    for step in 0..300 {
        let buyer = buyers.choose(&mut rng).expect("a buyer");
        let user = buyer.user_id;
        let live_holds = ids(
            db,
            "SELECT id FROM holds WHERE user_id = $1 AND status = 'ACTIVE'",
            user,
        )
        .await;
        let unpaid = ids(db, "SELECT id FROM bookings WHERE user_id = $1 AND status IN ('PENDING_PAYMENT', 'PAYMENT_FAILED')", user).await;
        let paid = ids(
            db,
            "SELECT id FROM bookings WHERE user_id = $1 AND status = 'CONFIRMED'",
            user,
        )
        .await;
        let action = rng.random_range(0..9);
        let name = match action {
            0 | 1 => {
                let n = rng.random_range(1..=3);
                let wanted: Vec<i64> = seats.choose_multiple(&mut rng, n).copied().collect();
                if holds::take(state, &event, buyer, &wanted, None)
                    .await
                    .is_ok()
                {
                    *succeeded.entry("lock").or_default() += 1;
                }
                "lock"
            }
            2 => {
                if let Some(hold) = live_holds.first()
                    && holds::release(state, event_id, user, *hold).await.is_ok()
                {
                    *succeeded.entry("release").or_default() += 1;
                }
                "release"
            }
            3 => {
                if let Some(hold) = live_holds.first() {
                    let _ = holds::extend(state, event_id, user, *hold).await;
                }
                "extend"
            }
            4 => {
                // Time runs out for one hold: its clock is wound forward, then the sweep runs.
                if let Some(hold) = live_holds.first() {
                    db.execute_raw(Statement::from_sql_and_values(
                        sea_orm::DbBackend::Postgres,
                        "UPDATE holds SET held_until = now() - interval '1 second' WHERE id = $1",
                        [(*hold).into()],
                    ))
                    .await
                    .expect("winding the clock");
                }
                holds::expiry::sweep(state, 100).await.expect("sweep");
                "expire"
            }
            5 => {
                if let Some(hold) = live_holds.first()
                    && booking::make(state, &event, user, *hold, None)
                        .await
                        .is_ok()
                {
                    *succeeded.entry("book").or_default() += 1;
                }
                "book"
            }
            6 | 7 => {
                if let Some(booking_id) = unpaid.first() {
                    let card = if action == 6 {
                        "4111111111111111"
                    } else {
                        "4000000000000002"
                    };
                    // The two-round-trip path the API takes, with a fresh key.
                    if payments::charge(
                        state,
                        event_id,
                        user,
                        *booking_id,
                        PaymentMethod::Card,
                        &card_details(card),
                        &uuid::Uuid::new_v4().to_string(),
                    )
                    .await
                    .is_ok()
                    {
                        *succeeded.entry("pay").or_default() += 1;
                    }
                }
                if action == 6 { "pay" } else { "decline" }
            }
            _ => {
                if let Some(booking_id) = paid.first().or(unpaid.first())
                    && booking::cancel(state, user, Some(event_id), *booking_id)
                        .await
                        .is_ok()
                {
                    *succeeded.entry("cancel").or_default() += 1;
                }
                "cancel"
            }
        };
        *done.entry(name).or_default() += 1;
        assert_invariants(db, &format!("step {step} ({name}, seed {seed})")).await;
    }

    println!("operations tried: {done:?}; succeeded: {succeeded:?}");
    for operation in ["lock", "release", "book", "pay", "cancel"] {
        assert!(
            succeeded.get(operation).copied().unwrap_or(0) > 0,
            "no {operation} ever succeeded: {succeeded:?}"
        );
    }
    let confirmed: i64 = db
        .query_one_raw(Statement::from_string(
            sea_orm::DbBackend::Postgres,
            "SELECT count(*) FROM bookings WHERE status IN ('CONFIRMED', 'REFUNDED')",
        ))
        .await
        .expect("query")
        .expect("row")
        .try_get_by_index(0)
        .expect("count");
    assert!(confirmed > 0, "the run reached paid bookings: {done:?}");
}
