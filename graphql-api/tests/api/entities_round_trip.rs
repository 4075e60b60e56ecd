//! Every entity writes and reads back a row of its table in a freshly migrated database.

use chrono::{Duration, SubsecRound as _, Utc};
use entities::{
    booking, booking_seat, event, hold, idempotency_record, lottery_commitment, lottery_draw,
    payment, seat, seat_category, user,
};
use graphql_api::testing::TestDb;
use sea_orm::{ActiveModelTrait as _, ActiveValue::Set, EntityTrait as _, ModelTrait as _, NotSet};
use uuid::Uuid;

#[tokio::test]
async fn a_row_of_every_table_round_trips_through_its_entity() {
    let db = TestDb::new().await;
    let db = &db.connection;
    // Postgres keeps microseconds; compare like with like.
    let now = Utc::now().trunc_subsecs(6);

    let fan = user::ActiveModel {
        id: Set(Uuid::now_v7()),
        email: Set("Fan@Example.com".into()),
        password_hash: Set("$argon2id$v=19$...".into()),
        display_name: Set("Fan".into()),
        role: Set(user::Role::Fan),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await
    .expect("user");
    assert_eq!(
        user::Entity::find_by_id(fan.id)
            .one(db)
            .await
            .expect("read"),
        Some(fan.clone())
    );

    let show = event::ActiveModel {
        id: NotSet,
        slug: Set("round-trip".into()),
        name: Set("Round Trip".into()),
        artist: Set("The Entities".into()),
        venue: Set("Test Hall".into()),
        city: Set("Pune".into()),
        starts_at: Set(now + Duration::days(30)),
        sale_opens_at: Set(now),
        status: Set(event::EventStatus::OnSale),
        gate_enabled: Set(true),
        max_seats_per_fan: Set(4),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await
    .expect("event");
    assert_eq!(
        event::Entity::find_by_id(show.id)
            .one(db)
            .await
            .expect("read"),
        Some(show.clone())
    );

    let gold = seat_category::ActiveModel {
        id: NotSet,
        event_id: Set(show.id),
        name: Set("Gold".into()),
        price_minor: Set(750_000),
        currency: Set("INR".into()),
        colour: Set("#d97706".into()),
        sort_order: Set(1),
    }
    .insert(db)
    .await
    .expect("category");
    assert_eq!(
        gold.find_related(event::Entity)
            .one(db)
            .await
            .expect("relation"),
        Some(show.clone())
    );

    let hold_row = hold::ActiveModel {
        id: Set(Uuid::now_v7()),
        event_id: Set(show.id),
        user_id: Set(fan.id),
        status: Set(hold::HoldStatus::Active),
        seat_count: Set(1),
        held_until: Set(now + Duration::minutes(10)),
        extensions_used: Set(0),
        created_at: Set(now),
        ended_at: Set(None),
    }
    .insert(db)
    .await
    .expect("hold");

    let held_seat = seat::ActiveModel {
        id: NotSet,
        event_id: Set(show.id),
        category_id: Set(gold.id),
        section: Set("L101".into()),
        row_label: Set("A".into()),
        number: Set(1),
        x: Set(10),
        y: Set(-20),
        status: Set(seat::SeatStatus::Held),
        hold_id: Set(Some(hold_row.id)),
        held_until: Set(Some(hold_row.held_until)),
        booking_id: Set(None),
        version: Set(1),
        updated_at: Set(now),
    }
    .insert(db)
    .await
    .expect("seat");
    assert_eq!(
        seat::Entity::find_by_id(held_seat.id)
            .one(db)
            .await
            .expect("read"),
        Some(held_seat.clone())
    );
    assert_eq!(
        held_seat
            .find_related(hold::Entity)
            .one(db)
            .await
            .expect("relation"),
        Some(hold_row.clone())
    );
    assert_eq!(
        hold_row
            .find_related(seat::Entity)
            .all(db)
            .await
            .expect("relation"),
        vec![held_seat.clone()]
    );

    let order = booking::ActiveModel {
        id: Set(Uuid::now_v7()),
        reference: Set("RT-000001".into()),
        event_id: Set(show.id),
        user_id: Set(fan.id),
        hold_id: Set(Some(hold_row.id)),
        status: Set(booking::BookingStatus::PendingPayment),
        amount_minor: Set(750_000),
        currency: Set("INR".into()),
        payment_intent: Set("pi_round_trip".into()),
        created_at: Set(now),
        updated_at: Set(now),
        confirmed_at: Set(None),
        cancelled_at: Set(None),
    }
    .insert(db)
    .await
    .expect("booking");
    assert_eq!(
        booking::Entity::find_by_id(order.id)
            .one(db)
            .await
            .expect("read"),
        Some(order.clone())
    );

    let line = booking_seat::ActiveModel {
        booking_id: Set(order.id),
        seat_id: Set(held_seat.id),
        event_id: Set(show.id),
        price_minor: Set(750_000),
        confirmed: Set(false),
    }
    .insert(db)
    .await
    .expect("booking seat");
    assert_eq!(
        booking_seat::Entity::find_by_id((order.id, held_seat.id))
            .one(db)
            .await
            .expect("read"),
        Some(line.clone())
    );
    assert_eq!(
        order
            .find_related(seat::Entity)
            .all(db)
            .await
            .expect("via booking_seats"),
        vec![held_seat.clone()]
    );

    let attempt = payment::ActiveModel {
        id: Set(Uuid::now_v7()),
        booking_id: Set(order.id),
        method: Set(payment::PaymentMethod::Upi),
        status: Set(payment::PaymentStatus::Failed),
        amount_minor: Set(750_000),
        currency: Set("INR".into()),
        provider: Set("SIMULATED".into()),
        provider_ref: Set(Some("sim_1".into())),
        failure_code: Set(Some("PAYMENT_DECLINED".into())),
        failure_message: Set(Some("Declined by the bank".into())),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await
    .expect("payment");
    assert_eq!(
        payment::Entity::find_by_id(attempt.id)
            .one(db)
            .await
            .expect("read"),
        Some(attempt.clone())
    );
    assert_eq!(
        order
            .find_related(payment::Entity)
            .all(db)
            .await
            .expect("relation"),
        vec![attempt]
    );

    let record = idempotency_record::ActiveModel {
        user_id: Set(fan.id),
        key: Set("key-1".into()),
        operation: Set("lockSeats".into()),
        request_hash: Set(vec![1, 2, 3]),
        status: Set(idempotency_record::IdempotencyStatus::Completed),
        response: Set(Some(serde_json::json!({ "holdId": "h1" }))),
        created_at: Set(now),
        expires_at: Set(now + Duration::hours(24)),
    }
    .insert(db)
    .await
    .expect("idempotency record");
    assert_eq!(
        idempotency_record::Entity::find_by_id((fan.id, "key-1".to_owned()))
            .one(db)
            .await
            .expect("read"),
        Some(record)
    );

    let seed = "ab".repeat(32);
    let commitment = lottery_commitment::ActiveModel {
        event_id: Set(show.id),
        seed: Set(seed.clone()),
        commitment: Set("cd".repeat(32)),
        committed_at: Set(now),
    }
    .insert(db)
    .await
    .expect("lottery commitment");
    assert_eq!(
        lottery_commitment::Entity::find_by_id(show.id)
            .one(db)
            .await
            .expect("relation"),
        Some(commitment)
    );
    let draw = lottery_draw::ActiveModel {
        event_id: Set(show.id),
        seed: Set(seed),
        fans: Set(vec!["f1".into(), "f2".into()]),
        fan_count: Set(2),
        drawn_at: Set(now),
        algorithm: Set("sha256-sort-v1".into()),
        entrants: Set(Some(vec!["e2".into(), "e1".into()])),
    }
    .insert(db)
    .await
    .expect("lottery draw");
    assert_eq!(
        lottery_draw::Entity::find_by_id(show.id)
            .one(db)
            .await
            .expect("read"),
        Some(draw)
    );
}
