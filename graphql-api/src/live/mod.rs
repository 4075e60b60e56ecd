//! Live updates between instances: what the stores publish after a change, and each
//! instance's [`Hub`](crate::hub::Hub) topic that fans it out to local subscribers. The
//! queue's ticks ([`queue`]) and committed seat changes ([`seats`]).

pub mod queue;
pub mod seats;
