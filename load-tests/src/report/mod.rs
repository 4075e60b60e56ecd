//! Reports: the numbers (JSON for machines), one HTML file with inline SVG charts for
//! people (no scripts or fonts from elsewhere: the machine may be offline), and thresholds
//! that decide the exit code.

mod chart;
mod html;
mod text;
mod threshold;

use std::{collections::BTreeMap, path::Path};

use anyhow::Context as _;
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use html::html;
pub use threshold::{Threshold, ThresholdResult, evaluate, parse_threshold};

use crate::{
    audit::Audit,
    chaos::{Burst, Fault, FaultReport},
    eta::EtaSummary,
    metrics::Data,
    system::{ProcSample, QueueSample},
};

/// Percentiles of one distribution, in milliseconds.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Percentiles {
    pub count: u64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
    pub mean: f64,
}

impl Percentiles {
    /// From a histogram in microseconds.
    pub fn of(histogram: &Histogram<u64>) -> Self {
        let ms = |us: u64| us as f64 / 1e3;
        Self {
            count: histogram.len(),
            p50: ms(histogram.value_at_quantile(0.5)),
            p90: ms(histogram.value_at_quantile(0.9)),
            p99: ms(histogram.value_at_quantile(0.99)),
            p999: ms(histogram.value_at_quantile(0.999)),
            max: ms(histogram.max()),
            mean: histogram.mean() / 1e3,
        }
    }

    /// A statistic by its threshold name.
    pub fn stat(&self, name: &str) -> Option<f64> {
        Some(match name {
            "p50" => self.p50,
            "p90" => self.p90,
            "p99" => self.p99,
            "p99.9" => self.p999,
            "max" => self.max,
            "mean" => self.mean,
            "count" => self.count as f64,
            _ => return None,
        })
    }
}

/// One operation over the whole run.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct OpSummary {
    pub name: String,
    pub latency_ms: Percentiles,
    pub ok: u64,
    pub expected: BTreeMap<String, u64>,
    pub errors: BTreeMap<String, u64>,
    /// Requests per second over the active part of the run.
    pub rate: f64,
    pub error_rate: f64,
}

/// One operation in one second.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct WindowSummary {
    pub count: u64,
    pub errors: u64,
    /// The errors by code.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub codes: BTreeMap<String, u64>,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// Everything a run reports.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Report {
    pub scenario: String,
    pub started_at: String,
    pub seconds: f64,
    pub target: String,
    pub event: i64,
    pub options: Value,
    pub ops: Vec<OpSummary>,
    /// Distributions that are not requests (time in queue, subscription lag...).
    pub values: BTreeMap<String, Percentiles>,
    /// The ETA band fans were shown against the waits that followed.
    #[serde(default)]
    pub eta: EtaSummary,
    pub counters: BTreeMap<String, u64>,
    pub requests: u64,
    pub errors: u64,
    pub error_rate: f64,
    /// Per second: operation -> summary.
    pub timeline: BTreeMap<u32, BTreeMap<String, WindowSummary>>,
    pub queue: Vec<QueueSample>,
    pub processes: BTreeMap<String, Vec<ProcSample>>,
    pub audit: Audit,
    /// Faults injected with `--chaos`, each with the burst of errors around it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub faults: Vec<FaultReport>,
    /// Faults on the schedule the run ended before.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub faults_missed: Vec<Fault>,
    /// The longest run of seconds with errors, fault or not.
    #[serde(default)]
    pub longest_error_burst: Burst,
    pub thresholds: Vec<ThresholdResult>,
    /// What limited the run, and anything odd, in words.
    pub notes: Vec<String>,
    pub passed: bool,
}

impl Report {
    /// Summarizes recorded data.
    pub fn summarize(data: &Data, seconds: f64) -> Self {
        let active = seconds.max(1e-3);
        let ops: Vec<OpSummary> = data
            .ops
            .iter()
            .map(|(name, op)| {
                let total = op.total();
                OpSummary {
                    name: name.clone(),
                    latency_ms: Percentiles::of(&op.latency),
                    ok: op.ok,
                    expected: op.expected.clone(),
                    errors: op.errors.clone(),
                    rate: total as f64 / active,
                    error_rate: op.error_count() as f64 / (total.max(1)) as f64,
                }
            })
            .collect();
        let requests: u64 = data.ops.values().map(|op| op.total()).sum();
        let errors: u64 = data.ops.values().map(|op| op.error_count()).sum();
        let timeline = data
            .windows
            .iter()
            .map(|(second, ops)| {
                let ops = ops
                    .iter()
                    .map(|(name, w)| {
                        (
                            name.clone(),
                            WindowSummary {
                                count: w.count,
                                errors: w.errors,
                                codes: w.codes.clone(),
                                p50_ms: w.latency.quantile(0.5) as f64 / 1e3,
                                p99_ms: w.latency.quantile(0.99) as f64 / 1e3,
                                max_ms: w.latency.max as f64 / 1e3,
                            },
                        )
                    })
                    .collect();
                (*second, ops)
            })
            .collect();
        Self {
            ops,
            values: data
                .values
                .iter()
                .map(|(name, h)| (name.clone(), Percentiles::of(h)))
                .collect(),
            counters: data.counters.clone(),
            eta: EtaSummary::of(&data.fans),
            requests,
            errors,
            error_rate: errors as f64 / requests.max(1) as f64,
            longest_error_burst: crate::chaos::longest_burst(&timeline),
            timeline,
            seconds,
            ..Self::default()
        }
    }

    /// Evaluates the thresholds and sets `passed` (thresholds and audit).
    pub fn judge(&mut self, rules: &[String]) -> anyhow::Result<()> {
        self.thresholds = rules
            .iter()
            .filter(|rule| !rule.trim().is_empty())
            .map(|rule| evaluate(self, &parse_threshold(rule)?))
            .collect::<anyhow::Result<Vec<_>>>()?;
        // A fault whose command failed was not injected as asked: the run proves nothing.
        self.passed = self.audit.passed()
            && self.thresholds.iter().all(|t| t.passed)
            && self.faults.iter().all(|f| f.injected.ok);
        Ok(())
    }

    /// Writes `report.json` and `report.html` into `dir`.
    pub fn write(&self, dir: &Path) -> anyhow::Result<()> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let json = serde_json::to_vec_pretty(self).context("serializing the report")?;
        std::fs::write(dir.join("report.json"), json).context("writing report.json")?;
        std::fs::write(dir.join("report.html"), html(self)).context("writing report.html")?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{audit::Check, metrics::Recorder};
    use std::time::Duration;

    pub(super) fn report() -> Report {
        let recorder = Recorder::new(crate::metrics::unix_ms());
        for ms in 1..=100u64 {
            recorder.request(
                "lockSeats",
                Duration::from_millis(ms),
                crate::metrics::Outcome::Ok,
            );
        }
        recorder.request(
            "joinQueue",
            Duration::from_millis(5),
            crate::metrics::Outcome::Error("INTERNAL_ERROR".into()),
        );
        recorder.value("sub.lag", 250_000);
        let mut report = Report::summarize(&recorder.take(), 10.0);
        report.audit.checks.push(Check {
            name: "ok".into(),
            passed: true,
            detail: String::new(),
        });
        report
    }

    #[test]
    fn percentiles_come_from_the_histogram() {
        let r = report();
        let lock = r.ops.iter().find(|op| op.name == "lockSeats").expect("op");

        assert!((lock.latency_ms.p50 - 50.0).abs() < 0.1);
        assert!((lock.latency_ms.p99 - 99.0).abs() < 0.1);
        assert!((lock.rate - 10.0).abs() < 1e-9);
        assert!((r.error_rate - 1.0 / 101.0).abs() < 1e-12);
    }

    #[test]
    fn the_eta_shows_in_the_text_and_html_reports_when_fans_ran() {
        let mut eta = crate::eta::EtaRecord::default();
        let band = crate::eta::Band {
            low_s: 10,
            likely_s: Some(20),
            high_s: 30,
            revised_ms: None,
        };
        eta.observe_band(Some(band), 0.0);
        eta.admitted_ms = Some(25_000.0);
        let fans = [crate::metrics::FanRecord {
            eta,
            ..Default::default()
        }];
        let mut r = report();
        assert!(!r.text().contains("ETA band"), "no fans, no section");

        r.eta = EtaSummary::of(&fans);

        let text = r.text();
        assert!(
            text.contains("  fans judged: 1 (shown a band, then admitted, out of 1 shown one)")
        );
        assert!(text.contains("  wait inside the first band: 100.0% (aimed at 80%)"));
        assert!(text.contains("p50 +5.0 s"), "{text}");
        assert!(html(&r).contains("<td>band's high rose between updates</td>"));
    }

    #[test]
    fn thresholds_and_the_audit_set_the_verdict() {
        let mut r = report();
        r.judge(&["lockSeats.p99<100ms".into(), "sub.lag.p99<1s".into()])
            .expect("judges");
        assert!(r.passed);

        r.judge(&["error-rate<0.5%".into()]).expect("judges");
        assert!(!r.passed, "one error in 101 requests is over 0.5%");

        r.judge(&["p99<50ms".into()]).expect("judges");
        assert!(!r.passed);
        assert!(r.thresholds[0].detail.contains("lockSeats"));

        r.judge(&["nosuchop.p99<1s".into()]).expect("judges");
        assert!(!r.passed, "a rule about nothing measured fails");

        r.judge(&[]).expect("judges");
        assert!(r.passed);
        r.audit.checks[0].passed = false;
        r.judge(&[]).expect("judges");
        assert!(!r.passed, "a failed audit fails the run");
    }
}
