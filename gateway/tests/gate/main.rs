//! End-to-end tests of the gateway: the real binary as a subprocess on a free port, real
//! Redis, real API instances on port 0 (each test with its own database and key prefix), and
//! small fake upstreams where the API cannot show what a test needs to see.

mod admission;
mod balancing;
mod cluster;
mod cors;
mod fakes;
mod fuzz;
mod layout;
mod limits;
mod operations;
mod overload;
mod support;
mod upgrade;
mod websocket;
