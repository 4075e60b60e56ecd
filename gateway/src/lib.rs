//! The edge gate in front of the API.
//!
//! For now a plain pass-through proxy to one API instance; the admission check, rate limits,
//! load balancing and metrics arrive with the gateway issue.
//!
//! - [`config`]: command line and environment.
//! - [`proxy`]: the `ProxyHttp` implementation.

pub mod config;
pub mod proxy;
