//! Thresholds: rules like `lockSeats.p99<500ms` parsed, measured on the report, and judged.
//! A rule about something never measured fails, so a typo cannot pass silently.

use anyhow::{Context as _, bail};
use serde::{Deserialize, Serialize};

use super::{OpSummary, Report};

/// A threshold and how the run did against it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ThresholdResult {
    pub rule: String,
    /// The measured value (the worst operation for rules over every operation).
    pub value: Option<f64>,
    pub passed: bool,
    pub detail: String,
}

/// A parsed threshold: `[metric.]stat op value`.
#[derive(Clone, Debug, PartialEq)]
pub struct Threshold {
    pub rule: String,
    /// An operation or distribution name; `None` for every operation.
    pub metric: Option<String>,
    /// `p50`, `p90`, `p99`, `p99.9`, `max`, `mean`, `count`, `rate`, `error-rate`.
    pub stat: String,
    pub less: bool,
    pub or_equal: bool,
    /// In ms for latencies, a fraction for rates of errors, plain otherwise.
    pub value: f64,
}

const STATS: [&str; 9] = [
    "p99.9",
    "p99",
    "p90",
    "p50",
    "max",
    "mean",
    "count",
    "error-rate",
    "rate",
];

/// Parses `p99<500ms`, `lockSeats.p99.9<=1s`, `error-rate<1%`, `bookings.count>100`.
pub fn parse_threshold(rule: &str) -> anyhow::Result<Threshold> {
    let rule = rule.trim();
    let at = rule
        .find(['<', '>'])
        .with_context(|| format!("threshold {rule:?} needs < or >"))?;
    let (left, right) = rule.split_at(at);
    let less = right.starts_with('<');
    let or_equal = right[1..].starts_with('=');
    let number = right[1 + usize::from(or_equal)..].trim();
    let stat = STATS
        .iter()
        .find(|stat| left == **stat || left.ends_with(&format!(".{stat}")))
        .with_context(|| format!("threshold {rule:?}: unknown statistic (one of {STATS:?})"))?;
    let metric = (left.len() > stat.len()).then(|| left[..left.len() - stat.len() - 1].to_owned());
    let split = number
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(number.len());
    let (digits, unit) = number.split_at(split);
    let raw: f64 = digits
        .parse()
        .with_context(|| format!("threshold {rule:?}: {digits:?} is not a number"))?;
    let value = match unit.trim() {
        "" => raw,
        "ms" => raw,
        "s" => raw * 1e3,
        "us" | "µs" => raw / 1e3,
        "%" => raw / 100.0,
        other => bail!("threshold {rule:?}: unknown unit {other:?}"),
    };
    Ok(Threshold {
        rule: rule.to_owned(),
        metric,
        stat: (*stat).to_owned(),
        less,
        or_equal,
        value,
    })
}

fn holds(t: &Threshold, value: f64) -> bool {
    match (t.less, t.or_equal) {
        (true, false) => value < t.value,
        (true, true) => value <= t.value,
        (false, false) => value > t.value,
        (false, true) => value >= t.value,
    }
}

/// Measures a threshold's statistic on the report.
pub fn evaluate(report: &Report, t: &Threshold) -> anyhow::Result<ThresholdResult> {
    let (value, detail) = match &t.metric {
        None if t.stat == "error-rate" => (
            Some(report.error_rate),
            format!("{} errors in {} requests", report.errors, report.requests),
        ),
        None => worst_operation(report, t),
        Some(metric) => named_metric(report, t, metric),
    };
    Ok(ThresholdResult {
        rule: t.rule.clone(),
        value,
        // A rule about something never measured fails: a typo must not pass silently.
        passed: value.is_some_and(|v| holds(t, v)),
        detail,
    })
}

/// The rule's statistic on one operation.
fn measure(t: &Threshold, op: &OpSummary) -> Option<f64> {
    match t.stat.as_str() {
        "error-rate" => Some(op.error_rate),
        "rate" => Some(op.rate),
        stat => op.latency_ms.stat(stat),
    }
}

/// A rule over every operation: each must pass, so the worst one is the measure.
fn worst_operation(report: &Report, t: &Threshold) -> (Option<f64>, String) {
    let mut worst: Option<(f64, String)> = None;
    for op in &report.ops {
        if let Some(v) = measure(t, op) {
            let worse = match &worst {
                None => true,
                Some((w, _)) => {
                    if t.less {
                        v > *w
                    } else {
                        v < *w
                    }
                }
            };
            if worse {
                worst = Some((v, op.name.clone()));
            }
        }
    }
    match worst {
        Some((v, name)) => (Some(v), format!("worst: {name} at {v:.3}")),
        None => (None, "no operations".to_owned()),
    }
}

/// A rule about one name: an operation, else a distribution, else a counter.
fn named_metric(report: &Report, t: &Threshold, metric: &str) -> (Option<f64>, String) {
    let shown = |v: Option<f64>| {
        (
            v,
            format!(
                "{metric}: {}",
                v.map_or("n/a".into(), |v| format!("{v:.3}"))
            ),
        )
    };
    if let Some(op) = report.ops.iter().find(|op| op.name == metric) {
        shown(measure(t, op))
    } else if let Some(p) = report.values.get(metric) {
        shown(p.stat(&t.stat))
    } else if let Some(n) = report.counters.get(metric) {
        (Some(*n as f64), format!("{metric}: {n}"))
    } else {
        (None, format!("{metric} was never measured"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_parse_with_metric_statistic_and_unit() {
        let t = parse_threshold("lockSeats.p99.9<=1.5s").expect("parses");
        assert_eq!(t.metric.as_deref(), Some("lockSeats"));
        assert_eq!((t.stat.as_str(), t.less, t.or_equal), ("p99.9", true, true));
        assert!((t.value - 1_500.0).abs() < 1e-9);

        let t = parse_threshold("error-rate<1%").expect("parses");
        assert_eq!((t.metric, t.stat.as_str()), (None, "error-rate"));
        assert!((t.value - 0.01).abs() < 1e-12);

        let t = parse_threshold("sub.lag.p99<250us").expect("parses");
        assert_eq!(t.metric.as_deref(), Some("sub.lag"));
        assert!((t.value - 0.25).abs() < 1e-12);

        assert!(parse_threshold("p99=5ms").is_err());
        assert!(parse_threshold("p98<5ms").is_err());
        assert!(parse_threshold("p99<5min").is_err());
    }
}
