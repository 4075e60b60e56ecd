//! What a run measures, recorded from any task and merged across worker processes.
//!
//! - Per operation: an HDR histogram of latency in microseconds (3 significant digits, up
//!   to an hour), successes, expected outcomes by code (`SEAT_TAKEN` when two fans want one
//!   seat is the system working) and errors by code.
//! - Distributions that are not requests (time in queue, subscription lag, admission to
//!   booking, schedule lag): HDR histograms too.
//! - Per second of the run and per operation: count, errors and a coarse log histogram,
//!   enough for latency-over-time charts at a few hundred bytes a second.
//! - Counters (fans arrived, admitted, booked...) and one record per fan for the audit.

use std::{
    collections::BTreeMap,
    sync::Mutex,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use anyhow::Context as _;
use base64::Engine as _;
use hdrhistogram::{
    Histogram,
    serialization::{Deserializer, Serializer as _, V2DeflateSerializer},
};
use serde::{Deserialize, Serialize};

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

/// Log-spaced buckets: bucket `i` holds values up to `FIRST_US * GROWTH^i`.
const COARSE_BUCKETS: usize = 80;
const FIRST_US: f64 = 10.0;
const GROWTH: f64 = 1.2;

/// A small histogram for per-second charts: ±10% per bucket, mergeable by addition.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Coarse {
    /// Counts per bucket (trailing empty buckets omitted).
    pub buckets: Vec<u32>,
    /// Largest value seen, in microseconds.
    pub max: u64,
}

impl Coarse {
    /// The bucket a value falls in.
    fn bucket_of(value_us: u64) -> usize {
        let v = value_us as f64;
        if v <= FIRST_US {
            return 0;
        }
        let i = ((v / FIRST_US).ln() / GROWTH.ln()).ceil() as usize;
        i.min(COARSE_BUCKETS - 1)
    }

    /// The upper bound of bucket `i`, in microseconds.
    fn upper(i: usize) -> f64 {
        FIRST_US * GROWTH.powi(i as i32)
    }

    /// Adds one value.
    pub fn record(&mut self, value_us: u64) {
        let i = Self::bucket_of(value_us);
        if self.buckets.len() <= i {
            self.buckets.resize(i + 1, 0);
        }
        self.buckets[i] = self.buckets[i].saturating_add(1);
        self.max = self.max.max(value_us);
    }

    /// Adds another histogram's counts.
    pub fn merge(&mut self, other: &Coarse) {
        if self.buckets.len() < other.buckets.len() {
            self.buckets.resize(other.buckets.len(), 0);
        }
        for (mine, theirs) in self.buckets.iter_mut().zip(&other.buckets) {
            *mine = mine.saturating_add(*theirs);
        }
        self.max = self.max.max(other.max);
    }

    /// Values recorded.
    pub fn count(&self) -> u64 {
        self.buckets.iter().map(|n| u64::from(*n)).sum()
    }

    /// The value at quantile `q` (the upper bound of its bucket, at most the max).
    pub fn quantile(&self, q: f64) -> u64 {
        let total = self.count();
        if total == 0 {
            return 0;
        }
        let rank = ((q.clamp(0.0, 1.0) * total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, n) in self.buckets.iter().enumerate() {
            seen += u64::from(*n);
            if seen >= rank {
                return (Self::upper(i) as u64).min(self.max);
            }
        }
        self.max
    }
}

/// One operation in one second of the run.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct WindowOp {
    pub count: u64,
    pub errors: u64,
    pub latency: Coarse,
}

/// Totals of one operation.
#[derive(Clone, Debug)]
pub struct OpData {
    pub latency: Histogram<u64>,
    pub ok: u64,
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

/// The recorder every task of a process shares.
#[derive(Debug)]
pub struct Recorder {
    /// Unix ms of the run's start: every process of a run shares it.
    t0_unix_ms: f64,
    data: Mutex<Data>,
}

impl Recorder {
    /// A recorder for a run starting at `t0_unix_ms`.
    pub fn new(t0_unix_ms: f64) -> Self {
        Self {
            t0_unix_ms,
            data: Mutex::new(Data::default()),
        }
    }

    /// The run's start, Unix ms.
    pub fn t0_unix_ms(&self) -> f64 {
        self.t0_unix_ms
    }

    /// Milliseconds since the run's start, now.
    pub fn now_ms(&self) -> f64 {
        unix_ms() - self.t0_unix_ms
    }

    fn with<R>(&self, f: impl FnOnce(&mut Data) -> R) -> R {
        let mut data = self
            .data
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut data)
    }

    /// Records one request of operation `op`.
    pub fn request(&self, op: &str, latency: Duration, outcome: Outcome) {
        let us = micros(latency);
        let second = (self.now_ms() / 1e3).max(0.0) as u32;
        self.with(|data| {
            let entry = data.ops.entry(op.to_owned()).or_default();
            entry.latency.saturating_record(us.max(1));
            let is_error = matches!(outcome, Outcome::Error(_));
            match outcome {
                Outcome::Ok => entry.ok += 1,
                Outcome::Expected(code) => *entry.expected.entry(code).or_default() += 1,
                Outcome::Error(code) => *entry.errors.entry(code).or_default() += 1,
            }
            let window = data
                .windows
                .entry(second)
                .or_default()
                .entry(op.to_owned())
                .or_default();
            window.count += 1;
            window.errors += u64::from(is_error);
            window.latency.record(us);
        });
    }

    /// Records a value of a distribution that is not a request (µs).
    pub fn value(&self, name: &str, us: u64) {
        self.with(|data| {
            data.values
                .entry(name.to_owned())
                .or_insert_with(histogram)
                .saturating_record(us.max(1));
        });
    }

    /// Adds `n` to a counter.
    pub fn count(&self, name: &str, n: u64) {
        self.with(|data| *data.counters.entry(name.to_owned()).or_default() += n);
    }

    /// Keeps a fan's record.
    pub fn fan(&self, record: FanRecord) {
        self.with(|data| data.fans.push(record));
    }

    /// The counters and request totals so far (for the progress line).
    pub fn progress(&self) -> Progress {
        self.with(|data| Progress {
            counters: data.counters.clone(),
            requests: data.ops.values().map(OpData::total).sum(),
            errors: data.ops.values().map(OpData::error_count).sum(),
        })
    }

    /// Takes everything recorded.
    pub fn take(&self) -> Data {
        self.with(std::mem::take)
    }
}

/// Running totals a worker reports every second.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Progress {
    pub counters: BTreeMap<String, u64>,
    pub requests: u64,
    pub errors: u64,
}

impl Progress {
    /// Adds another worker's totals.
    pub fn add(&mut self, other: &Progress) {
        for (name, n) in &other.counters {
            *self.counters.entry(name.clone()).or_default() += n;
        }
        self.requests += other.requests;
        self.errors += other.errors;
    }

    /// A counter's value (0 when never counted).
    pub fn get(&self, name: &str) -> u64 {
        self.counters.get(name).copied().unwrap_or(0)
    }
}

/// [`Data`] as a worker writes it for its coordinator.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct WireData {
    pub ops: BTreeMap<String, WireOp>,
    /// Base64 of V2-deflate HDR histograms.
    pub values: BTreeMap<String, String>,
    pub windows: BTreeMap<u32, BTreeMap<String, WindowOp>>,
    pub counters: BTreeMap<String, u64>,
    pub fans: Vec<FanRecord>,
}

/// One operation's totals on the wire.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct WireOp {
    pub latency: String,
    pub ok: u64,
    pub expected: BTreeMap<String, u64>,
    pub errors: BTreeMap<String, u64>,
}

fn encode(histogram: &Histogram<u64>) -> anyhow::Result<String> {
    let mut bytes = Vec::new();
    V2DeflateSerializer::new()
        .serialize(histogram, &mut bytes)
        .map_err(|error| anyhow::anyhow!("serializing a histogram: {error:?}"))?;
    Ok(base64::engine::general_purpose::STANDARD.encode(bytes))
}

fn decode(text: &str) -> anyhow::Result<Histogram<u64>> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .context("a histogram is not base64")?;
    Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .map_err(|error| anyhow::anyhow!("reading a histogram: {error:?}"))
}

impl Data {
    /// For the coordinator.
    pub fn to_wire(&self) -> anyhow::Result<WireData> {
        let mut ops = BTreeMap::new();
        for (name, op) in &self.ops {
            ops.insert(
                name.clone(),
                WireOp {
                    latency: encode(&op.latency)?,
                    ok: op.ok,
                    expected: op.expected.clone(),
                    errors: op.errors.clone(),
                },
            );
        }
        let mut values = BTreeMap::new();
        for (name, histogram) in &self.values {
            values.insert(name.clone(), encode(histogram)?);
        }
        Ok(WireData {
            ops,
            values,
            windows: self.windows.clone(),
            counters: self.counters.clone(),
            fans: self.fans.clone(),
        })
    }

    /// Adds a worker's data to this.
    pub fn merge_wire(&mut self, wire: WireData) -> anyhow::Result<()> {
        for (name, op) in wire.ops {
            let entry = self.ops.entry(name).or_default();
            entry
                .latency
                .add(decode(&op.latency)?)
                .map_err(|error| anyhow::anyhow!("merging histograms: {error:?}"))?;
            entry.ok += op.ok;
            for (code, n) in op.expected {
                *entry.expected.entry(code).or_default() += n;
            }
            for (code, n) in op.errors {
                *entry.errors.entry(code).or_default() += n;
            }
        }
        for (name, text) in wire.values {
            self.values
                .entry(name)
                .or_insert_with(histogram)
                .add(decode(&text)?)
                .map_err(|error| anyhow::anyhow!("merging histograms: {error:?}"))?;
        }
        for (second, ops) in wire.windows {
            let window = self.windows.entry(second).or_default();
            for (name, op) in ops {
                let entry = window.entry(name).or_default();
                entry.count += op.count;
                entry.errors += op.errors;
                entry.latency.merge(&op.latency);
            }
        }
        for (name, n) in wire.counters {
            *self.counters.entry(name).or_default() += n;
        }
        self.fans.extend(wire.fans);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coarse_quantiles_are_within_one_bucket_of_the_truth() {
        let mut coarse = Coarse::default();
        for us in 1..=10_000u64 {
            coarse.record(us * 10);
        }

        let p50 = coarse.quantile(0.5) as f64;
        let p99 = coarse.quantile(0.99) as f64;

        assert!((p50 / 50_000.0 - 1.0).abs() < 0.2, "{p50}");
        assert!((p99 / 99_000.0 - 1.0).abs() < 0.2, "{p99}");
        assert_eq!(coarse.quantile(1.0), 100_000);
        assert_eq!(coarse.count(), 10_000);
    }

    #[test]
    fn coarse_histograms_merge_by_adding_counts() {
        let mut a = Coarse::default();
        let mut b = Coarse::default();
        a.record(100);
        b.record(100);
        b.record(5_000_000);

        a.merge(&b);

        assert_eq!(a.count(), 3);
        assert_eq!(a.max, 5_000_000);
        assert_eq!(Coarse::default().quantile(0.5), 0);
    }

    #[test]
    fn a_recorder_splits_successes_expected_outcomes_and_errors() {
        let recorder = Recorder::new(unix_ms());

        recorder.request("lockSeats", Duration::from_millis(3), Outcome::Ok);
        recorder.request(
            "lockSeats",
            Duration::from_millis(4),
            Outcome::Expected("SEAT_TAKEN".into()),
        );
        recorder.request(
            "lockSeats",
            Duration::from_millis(900),
            Outcome::Error("INTERNAL_ERROR".into()),
        );
        let data = recorder.take();

        let op = &data.ops["lockSeats"];
        assert_eq!((op.ok, op.total(), op.error_count()), (1, 3, 1));
        assert_eq!(op.expected["SEAT_TAKEN"], 1);
        assert!(op.latency.max() >= 899_000);
        let window: u64 = data
            .windows
            .values()
            .map(|ops| ops["lockSeats"].errors)
            .sum();
        assert_eq!(window, 1);
    }

    #[test]
    fn data_survives_the_trip_to_the_coordinator_and_merges() {
        let recorder = Recorder::new(unix_ms());
        recorder.request("joinQueue", Duration::from_millis(2), Outcome::Ok);
        recorder.value("sub.lag", 1_500);
        recorder.count("fans.admitted", 2);
        recorder.fan(FanRecord {
            index: 1,
            ..FanRecord::default()
        });
        let wire = recorder.take().to_wire().expect("encodes");
        let text = serde_json::to_string(&wire).expect("serializes");

        let mut merged = Data::default();
        merged
            .merge_wire(serde_json::from_str(&text).expect("parses"))
            .expect("merges");
        merged
            .merge_wire(serde_json::from_str(&text).expect("parses"))
            .expect("merges");

        assert_eq!(merged.ops["joinQueue"].ok, 2);
        assert_eq!(merged.values["sub.lag"].len(), 2);
        assert_eq!(merged.counters["fans.admitted"], 4);
        assert_eq!(merged.fans.len(), 2);
    }
}
