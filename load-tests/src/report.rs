//! Reports: the numbers (JSON for machines), one HTML file with inline SVG charts for
//! people (no scripts or fonts from elsewhere: the machine may be offline), and thresholds
//! that decide the exit code.

use std::{collections::BTreeMap, fmt::Write as _, path::Path};

use anyhow::{Context as _, bail};
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{
    audit::Audit,
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
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// A threshold and how the run did against it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ThresholdResult {
    pub rule: String,
    /// The measured value (the worst operation for rules over every operation).
    pub value: Option<f64>,
    pub passed: bool,
    pub detail: String,
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
    pub counters: BTreeMap<String, u64>,
    pub requests: u64,
    pub errors: u64,
    pub error_rate: f64,
    /// Per second: operation -> summary.
    pub timeline: BTreeMap<u32, BTreeMap<String, WindowSummary>>,
    pub queue: Vec<QueueSample>,
    pub processes: BTreeMap<String, Vec<ProcSample>>,
    pub audit: Audit,
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
            requests,
            errors,
            error_rate: errors as f64 / requests.max(1) as f64,
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
        self.passed = self.audit.passed() && self.thresholds.iter().all(|t| t.passed);
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

    /// The summary printed at the end of a run.
    pub fn text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "\n{} against {} (event {}), {:.1} s, {} requests, {:.3}% errors",
            self.scenario,
            self.target,
            self.event,
            self.seconds,
            self.requests,
            self.error_rate * 100.0
        );
        let _ = writeln!(
            out,
            "{:<22} {:>8} {:>8} {:>9} {:>9} {:>9} {:>9} {:>9} {:>7}  outcomes",
            "operation",
            "count",
            "req/s",
            "p50 ms",
            "p90 ms",
            "p99 ms",
            "p99.9 ms",
            "max ms",
            "err%"
        );
        for op in &self.ops {
            let l = &op.latency_ms;
            let mut outcomes: Vec<String> = op
                .expected
                .iter()
                .map(|(code, n)| format!("{code} {n}"))
                .collect();
            outcomes.extend(op.errors.iter().map(|(code, n)| format!("ERR {code} {n}")));
            let _ = writeln!(
                out,
                "{:<22} {:>8} {:>8.1} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>7.3}  {}",
                op.name,
                l.count,
                op.rate,
                l.p50,
                l.p90,
                l.p99,
                l.p999,
                l.max,
                op.error_rate * 100.0,
                outcomes.join(", ")
            );
        }
        for (name, l) in &self.values {
            let _ = writeln!(
                out,
                "{:<22} {:>8} {:>8} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>9.2}",
                name, l.count, "", l.p50, l.p90, l.p99, l.p999, l.max
            );
        }
        let counters: Vec<String> = self
            .counters
            .iter()
            .map(|(name, n)| format!("{name}={n}"))
            .collect();
        let _ = writeln!(out, "counters: {}", counters.join(" "));
        let _ = writeln!(out, "audit:");
        for check in &self.audit.checks {
            let _ = writeln!(
                out,
                "  [{}] {}: {}",
                if check.passed { "PASS" } else { "FAIL" },
                check.name,
                check.detail
            );
        }
        for t in &self.thresholds {
            let _ = writeln!(
                out,
                "threshold [{}] {}: {}",
                if t.passed { "PASS" } else { "FAIL" },
                t.rule,
                t.detail
            );
        }
        for note in &self.notes {
            let _ = writeln!(out, "note: {note}");
        }
        let _ = writeln!(
            out,
            "{}",
            if self.passed {
                "RESULT: PASS"
            } else {
                "RESULT: FAIL"
            }
        );
        out
    }
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
    let measure = |op: &OpSummary| -> Option<f64> {
        match t.stat.as_str() {
            "error-rate" => Some(op.error_rate),
            "rate" => Some(op.rate),
            stat => op.latency_ms.stat(stat),
        }
    };
    let (value, detail) = match &t.metric {
        None if t.stat == "error-rate" => (
            Some(report.error_rate),
            format!("{} errors in {} requests", report.errors, report.requests),
        ),
        None => {
            // Every operation must pass: report the worst.
            let mut worst: Option<(f64, String)> = None;
            for op in &report.ops {
                if let Some(v) = measure(op) {
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
        Some(metric) => {
            if let Some(op) = report.ops.iter().find(|op| &op.name == metric) {
                let v = measure(op);
                (
                    v,
                    format!(
                        "{metric}: {}",
                        v.map_or("n/a".into(), |v| format!("{v:.3}"))
                    ),
                )
            } else if let Some(p) = report.values.get(metric) {
                let v = p.stat(&t.stat);
                (
                    v,
                    format!(
                        "{metric}: {}",
                        v.map_or("n/a".into(), |v| format!("{v:.3}"))
                    ),
                )
            } else if let Some(n) = report.counters.get(metric) {
                (Some(*n as f64), format!("{metric}: {n}"))
            } else {
                (None, format!("{metric} was never measured"))
            }
        }
    };
    Ok(ThresholdResult {
        rule: t.rule.clone(),
        value,
        // A rule about something never measured fails: a typo must not pass silently.
        passed: value.is_some_and(|v| holds(t, v)),
        detail,
    })
}

const COLOURS: [&str; 10] = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
    "#7f7f7f", "#bcbd22",
];

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A round number at or above `value` for an axis.
pub fn nice_ceiling(value: f64) -> f64 {
    if value <= 0.0 || !value.is_finite() {
        return 1.0;
    }
    let magnitude = 10f64.powf(value.log10().floor());
    for step in [1.0, 2.0, 2.5, 5.0, 10.0] {
        if step * magnitude >= value {
            return step * magnitude;
        }
    }
    10.0 * magnitude
}

/// One series of a line chart.
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
    pub dashed: bool,
}

/// An SVG line chart over the run's seconds.
pub fn line_chart(title: &str, unit: &str, series: &[Series]) -> String {
    let (width, height, left, right, top, bottom) = (920.0, 260.0, 64.0, 16.0, 28.0, 34.0);
    let x_max = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.0))
        .fold(1.0_f64, f64::max);
    let y_max = nice_ceiling(
        series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.1))
            .fold(0.0_f64, f64::max),
    );
    let x_max = nice_ceiling(x_max);
    let px = |x: f64| left + x / x_max * (width - left - right);
    let py = |y: f64| top + (1.0 - y / y_max) * (height - top - bottom);
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<figure><svg viewBox="0 0 {width} {height}" width="100%" role="img" aria-label="{t}"><text x="{left}" y="18" class="title">{t}</text>"#,
        t = escape(title)
    );
    for i in 0..=4 {
        let y = y_max * f64::from(i) / 4.0;
        let _ = write!(
            svg,
            r#"<line x1="{left}" x2="{}" y1="{py}" y2="{py}" class="grid"/><text x="{}" y="{}" class="tick" text-anchor="end">{}</text>"#,
            width - right,
            left - 6.0,
            py(y) + 4.0,
            short(y),
            py = py(y)
        );
    }
    for i in 0..=5 {
        let x = x_max * f64::from(i) / 5.0;
        let _ = write!(
            svg,
            r#"<text x="{}" y="{}" class="tick" text-anchor="middle">{}s</text>"#,
            px(x),
            height - bottom + 16.0,
            short(x)
        );
    }
    let _ = write!(
        svg,
        r#"<text x="12" y="{}" class="tick" transform="rotate(-90 12 {})">{}</text>"#,
        height / 2.0,
        height / 2.0,
        escape(unit)
    );
    for (i, s) in series.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let path: Vec<String> = s
            .points
            .iter()
            .map(|(x, y)| format!("{:.1},{:.1}", px(*x), py(y.min(y_max))))
            .collect();
        if !path.is_empty() {
            let _ = write!(
                svg,
                r#"<polyline fill="none" stroke="{colour}" stroke-width="1.6" {} points="{}"><title>{}</title></polyline>"#,
                if s.dashed {
                    r#"stroke-dasharray="5 3""#
                } else {
                    ""
                },
                path.join(" "),
                escape(&s.name)
            );
        }
    }
    svg.push_str("</svg><figcaption>");
    for (i, s) in series.iter().enumerate() {
        let _ = write!(
            svg,
            r#"<span class="key"><i style="background:{}"></i>{}</span>"#,
            COLOURS[i % COLOURS.len()],
            escape(&s.name)
        );
    }
    svg.push_str("</figcaption></figure>");
    svg
}

/// A horizontal bar chart of counts.
pub fn bar_chart(title: &str, bars: &[(String, u64, bool)]) -> String {
    if bars.is_empty() {
        return format!("<p><b>{}</b>: none.</p>", escape(title));
    }
    let row = 22.0;
    let (width, label) = (920.0, 300.0);
    let height = 30.0 + row * bars.len() as f64;
    let max = bars.iter().map(|b| b.1).max().unwrap_or(1).max(1) as f64;
    let mut svg = format!(
        r#"<figure><svg viewBox="0 0 {width} {height}" width="100%" role="img" aria-label="{t}"><text x="0" y="18" class="title">{t}</text>"#,
        t = escape(title)
    );
    for (i, (name, n, bad)) in bars.iter().enumerate() {
        let y = 28.0 + row * i as f64;
        let w = (*n as f64 / max) * (width - label - 80.0);
        let _ = write!(
            svg,
            r#"<text x="{}" y="{}" class="tick" text-anchor="end">{}</text><rect x="{label}" y="{y}" width="{w:.1}" height="{}" fill="{}"/><text x="{}" y="{}" class="tick">{n}</text>"#,
            label - 8.0,
            y + 14.0,
            escape(name),
            row - 6.0,
            if *bad { "#d62728" } else { "#1f77b4" },
            label + w + 6.0,
            y + 14.0
        );
    }
    svg.push_str("</svg></figure>");
    svg
}

fn short(v: f64) -> String {
    if v >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if v >= 1e4 {
        format!("{:.0}k", v / 1e3)
    } else if v >= 100.0 || v == v.trunc() {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

/// The single-file HTML report.
pub fn html(r: &Report) -> String {
    let mut h = String::new();
    let verdict = if r.passed { "PASS" } else { "FAIL" };
    let _ = write!(
        h,
        r#"<!doctype html><html lang="en"><meta charset="utf-8"><title>{s} {verdict}</title><style>
body{{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:960px;color:#222}}
h1{{font-size:22px}}h2{{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd}}
table{{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}}td,th{{padding:3px 6px;border-bottom:1px solid #eee;text-align:right}}
td:first-child,th:first-child{{text-align:left}}.pass{{color:#2a7a2a;font-weight:600}}.fail{{color:#c62828;font-weight:600}}
.title{{font-size:13px;font-weight:600}}.tick{{font-size:11px;fill:#555}}.grid{{stroke:#eee}}figure{{margin:12px 0}}
.key{{margin-right:14px;font-size:12px}}.key i{{display:inline-block;width:12px;height:3px;margin-right:4px;vertical-align:middle}}
.verdict{{font-size:20px;padding:8px 12px;display:inline-block;border-radius:6px;background:{bg}}}code{{font-size:12px}}
</style><h1>{s}: {t} (event {e})</h1><p class="verdict">{verdict}</p><p>Started {at}; {secs:.1} s; {req} requests, {er:.3}% errors.</p>"#,
        s = escape(&r.scenario),
        t = escape(&r.target),
        e = r.event,
        at = escape(&r.started_at),
        secs = r.seconds,
        req = r.requests,
        er = r.error_rate * 100.0,
        bg = if r.passed { "#e3f4e3" } else { "#fde2e2" },
    );

    h.push_str("<h2>Audit</h2><table><tr><th>check</th><th>result</th><th style=\"text-align:left\">detail</th></tr>");
    for c in &r.audit.checks {
        let _ = write!(
            h,
            r#"<tr><td>{}</td><td class="{}">{}</td><td style="text-align:left">{}</td></tr>"#,
            escape(&c.name),
            if c.passed { "pass" } else { "fail" },
            if c.passed { "PASS" } else { "FAIL" },
            escape(&c.detail)
        );
    }
    let states: Vec<String> = r
        .audit
        .seats
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    let bookings: Vec<String> = r
        .audit
        .bookings
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    let _ = write!(
        h,
        "</table><p>Seats: {}. Bookings: {}.</p>",
        escape(&states.join(", ")),
        escape(&bookings.join(", "))
    );

    if !r.thresholds.is_empty() {
        h.push_str("<h2>Thresholds</h2><table><tr><th>rule</th><th>result</th><th style=\"text-align:left\">measured</th></tr>");
        for t in &r.thresholds {
            let _ = write!(
                h,
                r#"<tr><td><code>{}</code></td><td class="{}">{}</td><td style="text-align:left">{}</td></tr>"#,
                escape(&t.rule),
                if t.passed { "pass" } else { "fail" },
                if t.passed { "PASS" } else { "FAIL" },
                escape(&t.detail)
            );
        }
        h.push_str("</table>");
    }

    h.push_str("<h2>Operations (latency in ms, from HDR histograms)</h2><table><tr><th>operation</th><th>count</th><th>req/s</th><th>p50</th><th>p90</th><th>p99</th><th>p99.9</th><th>max</th><th>errors</th></tr>");
    for op in &r.ops {
        let l = &op.latency_ms;
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{:.1}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td><td>{}</td></tr>",
            escape(&op.name),
            l.count,
            op.rate,
            l.p50,
            l.p90,
            l.p99,
            l.p999,
            l.max,
            op.errors.values().sum::<u64>()
        );
    }
    h.push_str("</table><h2>Fan timings (ms)</h2><table><tr><th>distribution</th><th>count</th><th>p50</th><th>p90</th><th>p99</th><th>p99.9</th><th>max</th></tr>");
    for (name, l) in &r.values {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td></tr>",
            escape(name),
            l.count,
            l.p50,
            l.p90,
            l.p99,
            l.p999,
            l.max
        );
    }
    h.push_str("</table>");

    let names: Vec<String> = r.ops.iter().map(|op| op.name.clone()).collect();
    let per_op = |f: &dyn Fn(&WindowSummary) -> f64, dashed: bool| -> Vec<Series> {
        names
            .iter()
            .map(|name| Series {
                name: name.clone(),
                points: r
                    .timeline
                    .iter()
                    .filter_map(|(s, ops)| ops.get(name).map(|w| (f64::from(*s), f(w))))
                    .collect(),
                dashed,
            })
            .collect()
    };
    h.push_str("<h2>Over time</h2>");
    h.push_str(&line_chart(
        "p99 latency per second",
        "ms",
        &per_op(&|w| w.p99_ms, false),
    ));
    h.push_str(&line_chart(
        "p50 latency per second",
        "ms",
        &per_op(&|w| w.p50_ms, true),
    ));
    h.push_str(&line_chart(
        "requests per second",
        "req/s",
        &per_op(&|w| w.count as f64, false),
    ));
    if !r.queue.is_empty() {
        let q = |f: &dyn Fn(&QueueSample) -> f64| -> Vec<(f64, f64)> {
            r.queue.iter().map(|s| (s.t_ms / 1e3, f(s))).collect()
        };
        let mut series = vec![
            Series {
                name: "waiting".into(),
                points: q(&|s| s.waiting as f64),
                dashed: false,
            },
            Series {
                name: "admitted (live)".into(),
                points: q(&|s| s.admitted_live as f64),
                dashed: false,
            },
        ];
        if r.queue.iter().any(|s| s.capacity.is_some()) {
            series.push(Series {
                name: "cap".into(),
                points: q(&|s| s.capacity.unwrap_or(0) as f64),
                dashed: true,
            });
        }
        h.push_str(&line_chart(
            "queue length and admitted fans",
            "fans",
            &series,
        ));
        let rate: Vec<(f64, f64)> = r
            .queue
            .windows(2)
            .filter(|w| w[1].t_ms > w[0].t_ms)
            .map(|w| {
                (
                    w[1].t_ms / 1e3,
                    (w[1].admitted_total - w[0].admitted_total).max(0) as f64
                        / ((w[1].t_ms - w[0].t_ms) / 1e3),
                )
            })
            .collect();
        h.push_str(&line_chart(
            "admission rate (admitted per second, from Redis)",
            "fans/s",
            &[Series {
                name: "admitted/s".into(),
                points: smooth(&rate, 4),
                dashed: false,
            }],
        ));
    }
    if !r.processes.is_empty() {
        let cpu: Vec<Series> = r
            .processes
            .iter()
            .map(|(name, samples)| Series {
                name: name.clone(),
                points: smooth(
                    &samples
                        .iter()
                        .map(|s| (s.t_ms / 1e3, s.cpu_pct))
                        .collect::<Vec<_>>(),
                    4,
                ),
                dashed: name == "machine",
            })
            .collect();
        h.push_str(&line_chart(
            "CPU (% of one core; machine = all cores)",
            "%",
            &cpu,
        ));
        let rss: Vec<Series> = r
            .processes
            .iter()
            .filter(|(name, _)| *name != "machine")
            .map(|(name, samples)| Series {
                name: name.clone(),
                points: samples.iter().map(|s| (s.t_ms / 1e3, s.rss_mb)).collect(),
                dashed: false,
            })
            .collect();
        h.push_str(&line_chart("resident memory", "MB", &rss));
    }

    h.push_str("<h2>Outcomes</h2>");
    let mut errors: Vec<(String, u64, bool)> = Vec::new();
    let mut expected: Vec<(String, u64, bool)> = Vec::new();
    for op in &r.ops {
        for (code, n) in &op.errors {
            errors.push((format!("{} {code}", op.name), *n, true));
        }
        for (code, n) in &op.expected {
            expected.push((format!("{} {code}", op.name), *n, false));
        }
    }
    errors.sort_by_key(|e| std::cmp::Reverse(e.1));
    expected.sort_by_key(|e| std::cmp::Reverse(e.1));
    h.push_str(&bar_chart("errors by operation and code", &errors));
    h.push_str(&bar_chart(
        "expected outcomes by operation and code (the system saying no, correctly)",
        &expected,
    ));
    let fans: Vec<(String, u64, bool)> = r
        .counters
        .iter()
        .filter(|(name, _)| name.starts_with("outcome."))
        .map(|(name, n)| (name.trim_start_matches("outcome.").to_owned(), *n, false))
        .collect();
    h.push_str(&bar_chart("how fans' visits ended", &fans));
    if !r.notes.is_empty() {
        h.push_str("<h2>Notes</h2><ul>");
        for note in &r.notes {
            let _ = write!(h, "<li>{}</li>", escape(note));
        }
        h.push_str("</ul>");
    }
    let _ = write!(
        h,
        "<h2>Options</h2><pre>{}</pre></html>",
        escape(&serde_json::to_string_pretty(&r.options).unwrap_or_default())
    );
    h
}

/// A moving average over `n` points (sampled rates are jumpy at 250 ms).
fn smooth(points: &[(f64, f64)], n: usize) -> Vec<(f64, f64)> {
    points
        .iter()
        .enumerate()
        .map(|(i, (x, _))| {
            let from = i.saturating_sub(n.saturating_sub(1));
            let slice = &points[from..=i];
            (
                *x,
                slice.iter().map(|p| p.1).sum::<f64>() / slice.len() as f64,
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{audit::Check, metrics::Recorder};
    use std::time::Duration;

    fn report() -> Report {
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

    #[test]
    fn the_html_report_is_one_file_with_charts_and_the_verdict() {
        let mut r = report();
        r.judge(&[]).expect("judges");

        let page = html(&r);

        assert!(page.contains("<svg"));
        assert!(page.contains("PASS"));
        assert!(!page.contains("<script src"));
        assert!(!page.contains("http://") && !page.contains("https://"));
    }

    #[test]
    fn axes_end_on_round_numbers() {
        assert_eq!(nice_ceiling(7.0), 10.0);
        assert_eq!(nice_ceiling(180.0), 200.0);
        assert_eq!(nice_ceiling(0.0), 1.0);
        assert_eq!(nice_ceiling(2_400.0), 2_500.0);
    }
}
