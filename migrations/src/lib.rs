//! The ticketing database schema as SeaORM migrations.
//!
//! Each migration is raw Postgres SQL on purpose: it records the schema of its day (never
//! today's entities), and the guarantees that make a double sale impossible (partial unique
//! indexes, composite foreign keys over generated columns, CHECKs) are plainest in SQL.
//!
//! - [`m20261125_000001_users`]: fans and admins.
//! - [`m20261125_000002_events_and_seats`]: events, seat categories, seats.
//! - [`m20261125_000003_holds_and_bookings`]: holds, bookings, booking seats, payments, and
//!   the foreign keys that tie a seat's state to them.
//! - [`m20261125_000004_idempotency_records`]: results of creating mutations by key.
//! - [`m20261125_000005_accounts_and_lottery`]: refresh tokens and lottery draw audits.
//! - [`m20261125_000006_payment_webhooks`]: provider events handled once.
//! - [`m20261202_000007_pending_payments_index`]: finding abandoned payments cheaply.
//! - [`m20261205_000008_lottery_commitments`]: lottery seeds committed before the close.

pub use sea_orm_migration::prelude::*;

pub mod m20261125_000001_users;
pub mod m20261125_000002_events_and_seats;
pub mod m20261125_000003_holds_and_bookings;
pub mod m20261125_000004_idempotency_records;
pub mod m20261125_000005_accounts_and_lottery;
pub mod m20261125_000006_payment_webhooks;
pub mod m20261202_000007_pending_payments_index;
pub mod m20261205_000008_lottery_commitments;
mod sql;

/// The text of every migration, in order: test harnesses name their migrated template
/// database after it, so editing a migration never reuses a stale template.
pub const SOURCES: &[&str] = &[
    include_str!("m20261125_000001_users.rs"),
    include_str!("m20261125_000002_events_and_seats.rs"),
    include_str!("m20261125_000003_holds_and_bookings.rs"),
    include_str!("m20261125_000004_idempotency_records.rs"),
    include_str!("m20261125_000005_accounts_and_lottery.rs"),
    include_str!("m20261125_000006_payment_webhooks.rs"),
    include_str!("m20261202_000007_pending_payments_index.rs"),
    include_str!("m20261205_000008_lottery_commitments.rs"),
];

/// A short fingerprint of [`SOURCES`] (FNV-1a, stable across builds and machines).
pub fn fingerprint() -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in SOURCES.iter().flat_map(|source| source.bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

/// Applies the migrations in order; `graphql-api migrate` and the test harness use it.
#[derive(Debug)]
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261125_000001_users::Migration),
            Box::new(m20261125_000002_events_and_seats::Migration),
            Box::new(m20261125_000003_holds_and_bookings::Migration),
            Box::new(m20261125_000004_idempotency_records::Migration),
            Box::new(m20261125_000005_accounts_and_lottery::Migration),
            Box::new(m20261125_000006_payment_webhooks::Migration),
            Box::new(m20261202_000007_pending_payments_index::Migration),
            Box::new(m20261205_000008_lottery_commitments::Migration),
        ]
    }
}
