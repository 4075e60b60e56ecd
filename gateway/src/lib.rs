//! The edge gate in front of the API: a Pingora proxy that lets only admitted fans reach the
//! sale routes, under rate limits, load-balanced over healthy API instances.
//!
//! - [`config`]: the TOML file and environment overrides.
//! - [`routes`]: what a request is, from its path and headers (route kind, event, token).
//! - [`admission`]: the gate's decision, a pure function.
//! - [`verified`]: admission tokens whose signature was already checked.
//! - [`store`]: admission records and gate switches in Redis, behind short caches.
//! - [`limits`]: per-IP and per-fan rate limits.
//! - [`cors`]: allowed browser origins, preflights, CORS headers on the gateway's answers.
//! - [`metrics`]: Prometheus counters and histograms for `/metrics`.
//! - [`proxy`]: the `ProxyHttp` implementation that ties them together.
//! - [`server`]: the Pingora server, its services and the connection cap.
//! - [`upgrade`]: handing the listening socket to a new process without a failed request.
//! - [`telemetry`]: logs and access logs.
//! - [`error`]: client-visible codes and the crate's error enum.

// Checked on the library build only: the unit-test build also sees every dev-dependency of
// the integration tests, which this crate's own tests do not use.
#![cfg_attr(not(test), warn(unused_crate_dependencies))]

// The binary's allocator, a dependency of `main.rs` alone: named so the lint above passes.
use mimalloc as _;

pub mod admission;
pub mod config;
pub mod cors;
pub mod error;
pub mod limits;
pub mod metrics;
pub mod proxy;
pub mod routes;
pub mod server;
pub mod store;
pub mod telemetry;
pub mod upgrade;
pub mod verified;
