//! Test harness shared by every crate's tests (feature `testing`).
//!
//! - [`TestDb`]: a fresh database per test, cloned from a migrated template (made once per
//!   migration set, under an advisory lock so parallel test processes agree), dropped after.
//! - [`TestRedis`]: a fresh key prefix per test on the shared Redis, deleted after.
//! - [`TestInstance`]: the real API on port 0; [`TestApp`] is a test's whole world (its own
//!   database and Redis prefix, one instance on them) with helpers to query it over HTTP and
//!   to act as a fan or an admin; [`TestApp::spawn_instance`] starts more instances on the
//!   same database and Redis.
//! - [`TestRedisServer`]: a private `redis-server` or Redis Cluster, for tests that need
//!   Redis to themselves.
//! - [`TestPostgresServer`]: a private Postgres cluster, for tests that crash and restart it;
//!   [`TestDb::on_server`] and [`TestApp::spawn_on`] put a test's world on it.
//! - [`RoundTrips`]: a relay in front of Postgres counting round trips (the sale path's cost).
//! - [`first_error_code`], [`scalar`], [`assert_invariants`]: reading what a test did.
//!
//! Environment: `TEST_DATABASE_URL` (a server URL ending in a database to connect to for
//! admin work, default `postgres://postgres@127.0.0.1:5432/postgres`), `TEST_REDIS_URL`
//! (default `redis://127.0.0.1:6379/0`), `KEEP_TEST_DB=1` to keep databases for debugging.

mod app;
mod credentials;
mod database;
mod inspect;
mod instance;
mod postgres_server;
mod redis_namespace;
mod redis_server;
mod round_trips;

pub use self::{
    app::TestApp,
    database::{TestDb, admin_database_url},
    inspect::{assert_invariants, first_error_code, scalar},
    instance::{TestInstance, test_config},
    postgres_server::TestPostgresServer,
    redis_namespace::{TestRedis, redis_url},
    redis_server::TestRedisServer,
    round_trips::RoundTrips,
};
