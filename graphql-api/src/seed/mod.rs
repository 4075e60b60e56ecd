//! Demo data: the stadium show fans see on a fresh install, and large events for load tests.
//!
//! Seeding is idempotent by the event's slug: a second run finds the event and changes
//! nothing. Seats are loaded with one `COPY` inside the same transaction as their event,
//! so a failed or interrupted seed leaves nothing half-made.

pub mod venue;

use std::{fmt::Write as _, time::Instant};

use anyhow::Context as _;
use chrono::{DateTime, TimeZone as _, Utc};
use sea_orm::{DatabaseConnection, sqlx};

use self::venue::{StadiumPlan, Tier};

/// Slug of the demo show.
pub const DEMO_SLUG: &str = "coldplay-mumbai-2027";
/// Seats in the demo show.
pub const DEMO_SEATS: u32 = 10_000;

/// What an event to seed looks like.
#[derive(Clone, Debug)]
pub struct EventSpec {
    pub slug: String,
    pub name: String,
    pub artist: String,
    pub venue: String,
    pub city: String,
    pub starts_at: DateTime<Utc>,
    pub sale_opens_at: DateTime<Utc>,
    /// `SCHEDULED` or `ON_SALE` (see the events table).
    pub status: &'static str,
    pub gate_enabled: bool,
    pub max_seats_per_fan: i32,
    pub seats: u32,
    /// Floor, lower bowl, upper bowl: (name, price in minor units, colour).
    pub categories: [(&'static str, i64, &'static str); 3],
    pub currency: &'static str,
}

/// The demo: the seed system's Coldplay night at DY Patil Stadium, in INR.
pub fn demo_spec() -> EventSpec {
    EventSpec {
        slug: DEMO_SLUG.to_owned(),
        name: "Coldplay: Music of the Spheres".to_owned(),
        artist: "Coldplay".to_owned(),
        venue: "DY Patil Stadium".to_owned(),
        city: "Mumbai".to_owned(),
        // 19:30 IST on 18 January 2027.
        starts_at: Utc
            .with_ymd_and_hms(2027, 1, 18, 14, 0, 0)
            .single()
            .unwrap_or_default(),
        sale_opens_at: Utc
            .with_ymd_and_hms(2026, 11, 1, 6, 30, 0)
            .single()
            .unwrap_or_default(),
        status: "ON_SALE",
        gate_enabled: true,
        max_seats_per_fan: 6,
        seats: DEMO_SEATS,
        categories: INR_CATEGORIES,
        currency: "INR",
    }
}

/// A large event for load tests: same prices, `seats` seats.
pub fn load_test_spec(seats: u32) -> EventSpec {
    EventSpec {
        slug: format!("load-test-{seats}"),
        name: format!("Load test: {seats} seats"),
        artist: "The Load Testers".to_owned(),
        venue: "Synthetic Arena".to_owned(),
        city: "Loopback".to_owned(),
        starts_at: Utc
            .with_ymd_and_hms(2027, 6, 1, 14, 0, 0)
            .single()
            .unwrap_or_default(),
        sale_opens_at: Utc
            .with_ymd_and_hms(2026, 11, 1, 6, 30, 0)
            .single()
            .unwrap_or_default(),
        ..demo_spec()
    }
    .with_seats(seats)
}

/// Silver INR 2,500, Gold INR 7,500, Platinum INR 12,500, in paise.
const INR_CATEGORIES: [(&str, i64, &str); 3] = [
    ("Platinum", 1_250_000, "#7c3aed"),
    ("Gold", 750_000, "#d97706"),
    ("Silver", 250_000, "#64748b"),
];

impl EventSpec {
    /// The same event with another number of seats.
    pub fn with_seats(mut self, seats: u32) -> Self {
        self.seats = seats;
        self
    }
}

/// What a seed run did.
#[derive(Clone, Debug)]
pub struct SeedReport {
    pub event_id: i64,
    pub slug: String,
    /// False when the event already existed and nothing changed.
    pub created: bool,
    pub seats: u64,
    pub elapsed: std::time::Duration,
}

impl std::fmt::Display for SeedReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.created {
            write!(
                f,
                "seeded event {} ({}) with {} seats in {:.2} s",
                self.event_id,
                self.slug,
                self.seats,
                self.elapsed.as_secs_f64()
            )
        } else {
            write!(
                f,
                "event {} ({}) already present; nothing changed",
                self.event_id, self.slug
            )
        }
    }
}

/// Loads an event with its categories and seats, unless one with its slug exists.
pub async fn seed_event(db: &DatabaseConnection, spec: &EventSpec) -> anyhow::Result<SeedReport> {
    let started = Instant::now();
    let pool = db.get_postgres_connection_pool();
    if let Some(report) = existing(pool, &spec.slug, started).await? {
        return Ok(report);
    }
    let plan = StadiumPlan::with_capacity(spec.seats);

    let mut tx = pool
        .begin()
        .await
        .context("starting the seed transaction")?;
    // A million seats take longer than the pool's statement timeout allows a request.
    sqlx::query("SET LOCAL statement_timeout = 0")
        .execute(&mut *tx)
        .await
        .context("lifting the timeout")?;
    let inserted: Option<(i64,)> = sqlx::query_as(
        "INSERT INTO events (slug, name, artist, venue, city, starts_at, sale_opens_at, status, \
         gate_enabled, max_seats_per_fan) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
         ON CONFLICT (slug) DO NOTHING RETURNING id",
    )
    .bind(&spec.slug)
    .bind(&spec.name)
    .bind(&spec.artist)
    .bind(&spec.venue)
    .bind(&spec.city)
    .bind(spec.starts_at)
    .bind(spec.sale_opens_at)
    .bind(spec.status)
    .bind(spec.gate_enabled)
    .bind(spec.max_seats_per_fan)
    .fetch_optional(&mut *tx)
    .await
    .context("inserting the event")?;
    let Some((event_id,)) = inserted else {
        // Another seeder got there between our look and our insert.
        tx.rollback().await.ok();
        return existing(pool, &spec.slug, started)
            .await?
            .context("the event vanished while seeding");
    };

    let mut category_ids = [0i64; 3];
    for (index, (name, price, colour)) in spec.categories.iter().enumerate() {
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO seat_categories (event_id, name, price_minor, currency, colour, sort_order) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(event_id)
        .bind(name)
        .bind(price)
        .bind(spec.currency)
        .bind(colour)
        .bind(index as i32)
        .fetch_one(&mut *tx)
        .await
        .context("inserting a seat category")?;
        category_ids[index] = id;
    }

    let mut copy = tx
        .copy_in_raw(
            "COPY seats (event_id, category_id, section, row_label, number, x, y) FROM STDIN",
        )
        .await
        .context("starting COPY into seats")?;
    let mut buffer = String::with_capacity(1 << 20);
    for seat in plan.seats() {
        let category = category_ids[match seat.tier {
            Tier::Floor => 0,
            Tier::Lower => 1,
            Tier::Upper => 2,
        }];
        // Labels are plain letters and digits, so the text format needs no escaping.
        let _ = writeln!(
            buffer,
            "{event_id}\t{category}\t{}\t{}\t{}\t{}\t{}",
            seat.section, seat.row, seat.number, seat.x, seat.y
        );
        if buffer.len() > (1 << 20) - 256 {
            copy.send(buffer.as_bytes())
                .await
                .context("sending seats")?;
            buffer.clear();
        }
    }
    if !buffer.is_empty() {
        copy.send(buffer.as_bytes())
            .await
            .context("sending seats")?;
    }
    let seats = copy.finish().await.context("finishing COPY into seats")?;
    tx.commit().await.context("committing the seed")?;

    // Fresh statistics, so the first queries on a big event get good plans.
    sqlx::query("ANALYZE seats")
        .execute(pool)
        .await
        .context("analyzing seats")?;
    Ok(SeedReport {
        event_id,
        slug: spec.slug.clone(),
        created: true,
        seats,
        elapsed: started.elapsed(),
    })
}

/// Loads the demo show.
pub async fn seed_demo(db: &DatabaseConnection) -> anyhow::Result<SeedReport> {
    seed_event(db, &demo_spec()).await
}

async fn existing(
    pool: &sqlx::PgPool,
    slug: &str,
    started: Instant,
) -> anyhow::Result<Option<SeedReport>> {
    let row: Option<(i64, i64)> = sqlx::query_as(
        "SELECT e.id, (SELECT count(*) FROM seats s WHERE s.event_id = e.id) \
         FROM events e WHERE e.slug = $1",
    )
    .bind(slug)
    .fetch_optional(pool)
    .await
    .context("looking for the event")?;
    Ok(row.map(|(event_id, seats)| SeedReport {
        event_id,
        slug: slug.to_owned(),
        created: false,
        seats: seats.max(0) as u64,
        elapsed: started.elapsed(),
    }))
}
