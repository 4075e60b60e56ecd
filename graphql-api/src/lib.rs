//! The ticketing GraphQL API.
//!
//! - [`config`]: typed configuration from the environment, with local defaults.
//! - [`startup`]: building and running an instance ([`startup::Application`]).
//! - [`http`]: routes: GraphQL endpoints, GraphiQL, health, the client's files.
//! - [`schema`]: the public and sale schemas, and the error-code extension.
//! - [`guard`]: bounds every request before anything recursive walks it.
//! - [`shed`]: bounds concurrent database work per kind; past it, `BUSY` at once.
//! - [`error`]: the one error enum and the table of client-visible codes.
//! - [`accounts`], [`auth`]: sign-up, sign-in, rotating sessions, and who is asking.
//! - [`queue`]: the virtual queue: join, live position, admission ticker, lottery, admin.
//! - [`ws`]: GraphQL subscriptions over WebSocket.
//! - [`sale`], [`holds`], [`booking`], [`payments`], [`idempotency`]: the sale: who is
//!   buying, all-or-nothing holds and their expiry, bookings, simulated payments and the
//!   provider webhook, and idempotency keys.
//! - [`autopilot`], [`sale_health`]: admission that follows the sale's health: each instance
//!   records and reports its sale answers, the ticker moves each event's rate and cap.
//! - [`events`]: events on the public schema.
//! - [`seats`]: categories, seat pages, the seat map and availability on the sale schema.
//! - [`seed`]: the demo stadium show and large load-test events.
//! - [`loaders`]: per-request batch loading (no N+1).
//! - [`db`], [`redis`]: connections (the Redis key layout is [`tokens::store`]).
//! - [`metrics`]: Prometheus metrics of operations, queues and the pool, at `/metrics`.
//! - [`money`]: amounts in minor units, formatted for people.
//! - [`cli`], [`telemetry`]: the binary's commands and logging.
//! - `testing` (feature `testing`): fresh database and Redis namespace per test, and the
//!   real server on port 0.

// Unit tests also see the dev-dependencies the integration tests and benches use.
#![cfg_attr(not(test), warn(unused_crate_dependencies))]

pub mod accounts;
pub mod answers;
pub mod auth;
pub mod autopilot;
pub mod booking;
pub mod cli;
pub mod config;
mod context;
pub mod db;
pub mod error;
pub mod eta;
pub mod events;
pub mod guard;
pub mod holds;
pub mod http;
pub mod hub;
pub mod idempotency;
pub mod inventory;
#[cfg(test)]
mod layers;
pub mod layout;
pub mod live;
pub mod loaders;
pub mod metrics;
pub mod money;
pub mod payments;
pub mod queue;
pub mod queue_store;
pub mod redis;
pub mod sale;
pub mod sale_health;
pub mod schema;
pub mod seats;
pub mod seed;
pub mod shed;
pub mod startup;
pub mod state;
pub mod sweeper;
pub mod telemetry;
#[cfg(feature = "testing")]
pub mod testing;
pub mod ws;
