//! Per-second windows: one small log histogram per operation and second, enough for
//! latency-over-time charts at a few hundred bytes a second.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One operation in one second of the run.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct WindowOp {
    /// Requests that ended in this second.
    pub count: u64,
    /// Of which errors.
    pub errors: u64,
    /// Those errors by code: what a fault's error burst was made of.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub codes: BTreeMap<String, u64>,
    pub latency: Coarse,
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
}
