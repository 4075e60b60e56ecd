//! The single-file HTML report: tables and inline SVG charts, no scripts or fonts from
//! elsewhere (the machine may be offline). Sections come in the order a reader asks:
//! did it pass, why, how fast, how true the ETA was, over time, how visits ended.

use std::fmt::Write as _;

use super::{
    Report, WindowSummary,
    chart::{Series, bar_chart, line_chart, smooth},
};
use crate::system::QueueSample;

/// The single-file HTML report.
pub fn html(r: &Report) -> String {
    let mut h = String::new();
    head(&mut h, r);
    audit(&mut h, r);
    thresholds(&mut h, r);
    faults(&mut h, r);
    tables(&mut h, r);
    eta(&mut h, r);
    over_time(&mut h, r);
    queue(&mut h, r);
    processes(&mut h, r);
    outcomes(&mut h, r);
    notes_and_options(&mut h, r);
    h
}

/// Text made safe inside HTML and SVG.
pub(super) fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The page's head and style, the title and the verdict.
fn head(h: &mut String, r: &Report) {
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
}

/// Every audit check, then the seats and bookings by state.
fn audit(h: &mut String, r: &Report) {
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
}

/// Each threshold and what was measured against it.
fn thresholds(h: &mut String, r: &Report) {
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
}

/// Each injected fault (`--chaos`), what its command said, and its burst of errors.
fn faults(h: &mut String, r: &Report) {
    if r.faults.is_empty() && r.faults_missed.is_empty() {
        return;
    }
    h.push_str("<h2>Faults injected</h2><table><tr><th>fault</th><th>at s</th><th>took s</th><th>command</th><th style=\"text-align:left\">errors around it</th></tr>");
    for fault in &r.faults {
        let f = &fault.injected;
        let _ = write!(
            h,
            r#"<tr><td>{}</td><td>{:.1}</td><td>{:.1}</td><td class="{}" title="{}">{}</td><td style="text-align:left">{}</td></tr>"#,
            f.kind.map_or("?", |k| k.as_str()),
            f.started_s,
            f.ended_s - f.started_s,
            if f.ok { "pass" } else { "fail" },
            escape(&f.output),
            if f.ok { "ok" } else { "FAILED" },
            escape(&super::text::burst_text(&fault.burst))
        );
    }
    for missed in &r.faults_missed {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{:.1}</td><td></td><td>not injected</td><td style=\"text-align:left\">the run ended first</td></tr>",
            missed.kind, missed.at_s
        );
    }
    let _ = write!(
        h,
        "</table><p>Longest burst of errors in the run: {}.</p>",
        escape(&super::text::burst_text(&r.longest_error_burst))
    );
}

/// Latency per operation and the distributions that are not requests.
fn tables(h: &mut String, r: &Report) {
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
}

/// The first ETA band each waiting fan was shown, against the wait that followed.
fn eta(h: &mut String, r: &Report) {
    let rows = r.eta.rows();
    if rows.is_empty() {
        return;
    }
    h.push_str("<h2>ETA band (the first one a waiting fan was shown, against the wait)</h2><table><tr><th>measure</th><th style=\"text-align:left\">measured</th></tr>");
    for (what, measured) in rows {
        let _ = write!(
            h,
            r#"<tr><td>{}</td><td style="text-align:left">{}</td></tr>"#,
            escape(what),
            escape(&measured)
        );
    }
    h.push_str("</table>");
}

/// Latency and throughput per second, one line per operation.
fn over_time(h: &mut String, r: &Report) {
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
}

/// Queue length, admitted fans and the admission rate, from Redis's samples.
fn queue(h: &mut String, r: &Report) {
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
}

/// CPU and memory of each watched process.
fn processes(h: &mut String, r: &Report) {
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
}

/// Errors and expected outcomes by operation and code, and how visits ended.
fn outcomes(h: &mut String, r: &Report) {
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
}

/// The notes in words, then the options the run was started with.
fn notes_and_options(h: &mut String, r: &Report) {
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::report;

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
}
