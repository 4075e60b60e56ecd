//! The summary printed at the end of a run: one line per operation and distribution, the
//! counters, the ETA against the waits, the audit, the thresholds, the notes and the verdict.

use std::fmt::Write as _;

use super::Report;

impl Report {
    /// The summary printed at the end of a run.
    pub fn text(&self) -> String {
        let mut out = String::new();
        self.headline(&mut out);
        self.table(&mut out);
        self.eta(&mut out);
        self.faults(&mut out);
        self.verdicts(&mut out);
        out
    }

    fn headline(&self, out: &mut String) {
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
    }

    /// One row per operation, then one per distribution, then the counters.
    fn table(&self, out: &mut String) {
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
    }

    /// The first ETA band each waiting fan was shown, against the wait that followed.
    fn eta(&self, out: &mut String) {
        let rows = self.eta.rows();
        if rows.is_empty() {
            return;
        }
        let _ = writeln!(
            out,
            "ETA band (the first one a waiting fan was shown, against the wait):"
        );
        for (what, measured) in rows {
            let _ = writeln!(out, "  {what}: {measured}");
        }
    }

    /// Each injected fault and its burst of errors, and the run's longest burst.
    fn faults(&self, out: &mut String) {
        for fault in &self.faults {
            let f = &fault.injected;
            let _ = writeln!(
                out,
                "fault {} at {:.1} s (took {:.1} s){}: {}",
                f.kind.map_or("?", |k| k.as_str()),
                f.started_s,
                f.ended_s - f.started_s,
                if f.ok { "" } else { " [COMMAND FAILED]" },
                burst_text(&fault.burst)
            );
        }
        for missed in &self.faults_missed {
            let _ = writeln!(
                out,
                "fault {} at {:.1} s: not injected, the run ended first",
                missed.kind, missed.at_s
            );
        }
        if !self.faults.is_empty() || self.longest_error_burst.seconds > 0 {
            let _ = writeln!(
                out,
                "longest error burst: {}",
                burst_text(&self.longest_error_burst)
            );
        }
    }

    /// The audit, the thresholds and the notes, then the run's verdict.
    fn verdicts(&self, out: &mut String) {
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
    }
}

/// A burst in words: where, how long, how many errors of which codes.
pub(super) fn burst_text(burst: &crate::chaos::Burst) -> String {
    let (Some(first), Some(last)) = (burst.first_s, burst.last_s) else {
        return "no errors".to_owned();
    };
    let codes: Vec<String> = burst
        .codes
        .iter()
        .map(|(code, n)| format!("{code} {n}"))
        .collect();
    format!(
        "{} s of errors (s {first}-{last}), {} errors in {} requests ({})",
        burst.seconds,
        burst.errors,
        burst.requests,
        codes.join(", ")
    )
}
