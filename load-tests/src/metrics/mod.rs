//! What a run measures, recorded from any task and merged across worker processes.
//!
//! - Per operation: an HDR histogram of latency in microseconds (3 significant digits, up
//!   to an hour), successes, expected outcomes by code (`SEAT_TAKEN` when two fans want one
//!   seat is the system working) and errors by code.
//! - Distributions that are not requests (time in queue, subscription lag, admission to
//!   booking, schedule lag): HDR histograms too.
//! - Per second of the run and per operation: count, errors and a coarse log histogram,
//!   enough for latency-over-time charts at a few hundred bytes a second.
//! - Counters (fans arrived, admitted, booked...) and one record per fan for the audit
//!   and the ETA's judgement.

mod recorder;
mod window;
mod wire;

use std::{
    collections::BTreeMap,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::eta::EtaRecord;

pub use recorder::{Progress, Recorder};
pub use window::{Coarse, WindowOp};
pub use wire::{WireData, WireOp};

/// Highest value a histogram keeps exactly: one hour in microseconds (above it saturates).
const HIGHEST_US: u64 = 3_600_000_000;

/// A new latency histogram.
pub fn histogram() -> Histogram<u64> {
    // Bounds are constants that always make a valid histogram.
    Histogram::new_with_bounds(1, HIGHEST_US, 3).expect("constant bounds make a valid histogram")
}

/// Microseconds of a duration, saturating.
pub fn micros(duration: Duration) -> u64 {
    u64::try_from(duration.as_micros()).unwrap_or(u64::MAX)
}

/// Milliseconds since the Unix epoch, now.
pub fn unix_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() * 1e3)
}

/// How one request ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// It did what was asked.
    Ok,
    /// A coded answer the scenario expects as part of normal life (`SEAT_TAKEN`...).
    Expected(String),
    /// Anything else: a failure of the system (or of the load generator).
    Error(String),
}

/// Totals of one operation.
#[derive(Clone, Debug)]
pub struct OpData {
    /// Microseconds, from when the fan wanted to send to the answer.
    pub latency: Histogram<u64>,
    pub ok: u64,
    /// Expected outcomes by code (`SEAT_TAKEN`...): the system working, not failing.
    pub expected: BTreeMap<String, u64>,
    pub errors: BTreeMap<String, u64>,
}

impl Default for OpData {
    fn default() -> Self {
        Self {
            latency: histogram(),
            ok: 0,
            expected: BTreeMap::new(),
            errors: BTreeMap::new(),
        }
    }
}

impl OpData {
    /// Requests made.
    pub fn total(&self) -> u64 {
        self.ok + self.expected.values().sum::<u64>() + self.errors.values().sum::<u64>()
    }

    /// Requests that failed.
    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }
}

/// What one fan did, for the audit and the per-fan timings. Times are ms since the run's
/// start (`t0`) unless named `_unix_ms`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct FanRecord {
    pub index: u32,
    /// The fan's user id, as the queue spells it (32 hex digits).
    pub fan: String,
    /// When the fan was scheduled to arrive.
    pub arrival_ms: f64,
    pub join_start_ms: Option<f64>,
    pub join_done_ms: Option<f64>,
    /// The number the queue gave the fan (dense: lottery ranks, then FIFO arrivals).
    pub ticket: Option<i64>,
    pub subscribed: bool,
    /// When the fan learnt of the admission.
    pub admitted_seen_ms: Option<f64>,
    /// When Redis admitted the fan (its clock, read from the admission record).
    pub admitted_unix_ms: Option<f64>,
    pub booked_ms: Option<f64>,
    /// Seats the API confirmed as this fan's.
    pub seats: Vec<i64>,
    pub booking: Option<String>,
    /// How the fan's visit ended (`booked`, `sold_out`, `left`, `abandoned`...).
    pub outcome: String,
    /// The ETA band the fan was shown while waiting, and when they were admitted.
    #[serde(default)]
    pub eta: EtaRecord,
}

/// Everything one process recorded, in a form that merges.
#[derive(Debug, Default)]
pub struct Data {
    pub ops: BTreeMap<String, OpData>,
    pub values: BTreeMap<String, Histogram<u64>>,
    pub windows: BTreeMap<u32, BTreeMap<String, WindowOp>>,
    pub counters: BTreeMap<String, u64>,
    pub fans: Vec<FanRecord>,
}
