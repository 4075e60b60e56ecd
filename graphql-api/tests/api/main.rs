//! Integration tests of the API against real Postgres and Redis: each test gets its own
//! database (cloned from a migrated template) and Redis prefix, and the real server on
//! port 0. One test binary, so the workspace links it once.

mod abandoned_payments;
mod accounts;
mod autopilot;
mod autopilot_queue;
mod constraints;
mod entities_round_trip;
mod errors;
mod events;
mod health;
mod hostile;
mod hostile_input;
mod hostile_refusals;
mod hostile_support;
mod hostile_websocket;
mod idempotency;
mod migrations_down;
mod queue;
mod queue_admission;
mod queue_cluster;
mod queue_controls;
mod queue_live;
mod queue_restart;
mod queue_supply;
mod queue_support;
mod routes;
mod sale;
mod sale_failover;
mod sale_invariants;
mod sale_lifecycle;
mod sale_live;
mod sale_outage;
mod sale_payments;
mod sale_round_trips;
mod sale_support;
mod sdl;
mod seat_layout;
mod seat_map;
mod seats;
mod seed;
mod shed;
mod support;
mod transports;
mod transports_journeys;
mod ws_client;
