//! The recorder every task of a process writes to, and the running totals a worker
//! reports to its coordinator every second.

use std::{collections::BTreeMap, sync::Mutex, time::Duration};

use serde::{Deserialize, Serialize};

use super::{Data, FanRecord, OpData, Outcome, histogram, micros, unix_ms};

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
            let error = match outcome {
                Outcome::Ok => {
                    entry.ok += 1;
                    None
                }
                Outcome::Expected(code) => {
                    *entry.expected.entry(code).or_default() += 1;
                    None
                }
                Outcome::Error(code) => {
                    *entry.errors.entry(code.clone()).or_default() += 1;
                    Some(code)
                }
            };
            let window = data
                .windows
                .entry(second)
                .or_default()
                .entry(op.to_owned())
                .or_default();
            window.count += 1;
            if let Some(code) = error {
                window.errors += 1;
                *window.codes.entry(code).or_default() += 1;
            }
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

#[cfg(test)]
mod tests {
    use super::*;

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
        let codes: Vec<_> = data
            .windows
            .values()
            .flat_map(|ops| ops["lockSeats"].codes.iter())
            .collect();
        assert_eq!(codes, [(&"INTERNAL_ERROR".to_owned(), &1)]);
    }
}
