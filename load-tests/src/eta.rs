//! The ETA band a waiting fan is shown: what each fan saw (the first band, and every rise
//! of its top from one update to the next), and how the first bands held up against the
//! waits that followed.
//!
//! The API promises that for a waiting fan the band's top (`highSeconds`) never rises by
//! more than 10%, plus 1 s for rounding to whole seconds, from one update to the next,
//! unless the queue was paused or an admin cut the rate. While paused, off sale or without
//! a forecast an update shows no band; the next band starts afresh, as the promise allows.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::metrics::FanRecord;

/// Share of waits the band is meant to hold (the API's `coverage`).
pub const AIMED_COVERAGE: f64 = 0.8;

/// A band as one update showed it, in whole seconds from that update.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Band {
    pub low_s: i64,
    /// `estimatedWaitSeconds`, the likely wait inside the band; `None` when not given.
    pub likely_s: Option<i64>,
    pub high_s: i64,
    /// When the forecast behind it was revised (`eta.revisedAt`, ms since the epoch).
    #[serde(default)]
    pub revised_ms: Option<i64>,
}

impl Band {
    /// The band a queue status shows, when the fan is `WAITING` and it shows one.
    pub fn of(status: &Value) -> Option<Self> {
        if status["state"] != "WAITING" {
            return None;
        }
        let eta = &status["eta"];
        Some(Self {
            low_s: eta["lowSeconds"].as_i64()?,
            likely_s: status["estimatedWaitSeconds"].as_i64(),
            high_s: eta["highSeconds"].as_i64()?,
            revised_ms: eta["revisedAt"]
                .as_str()
                .and_then(|at| chrono::DateTime::parse_from_rfc3339(at).ok())
                .map(|at| at.timestamp_millis()),
        })
    }
}

/// The first band a fan saw while waiting, and when.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct FirstBand {
    /// When the update showing it arrived, ms since the run's start.
    pub seen_ms: f64,
    pub band: Band,
}

/// The band's top from one update to the next.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rise {
    pub from_s: i64,
    pub to_s: i64,
    /// Revisions of the forecast between the two updates (at least one is assumed): the
    /// promise is per revision, so a fan who polls less often than the API revises may see
    /// several at once.
    #[serde(default = "one")]
    pub revisions: u32,
}

fn one() -> u32 {
    1
}

/// How often the API revises its forecast (`graphql-api/src/eta.rs`).
const REVISE_EVERY_MS: f64 = 10_000.0;

/// Revisions between two bands: from their `revisedAt`, one when either is missing.
fn revisions_between(from: Option<i64>, to: Option<i64>) -> u32 {
    match (from, to) {
        (Some(from), Some(to)) => ((to - from) as f64 / REVISE_EVERY_MS).round().max(1.0) as u32,
        _ => 1,
    }
}

impl Rise {
    /// The later top over the earlier one. A top of 0 counts as 1 s, so that no infinity
    /// goes into JSON (which cannot carry one).
    pub fn ratio(&self) -> f64 {
        self.to_s as f64 / self.from_s.max(1) as f64
    }

    /// True when the top rose more than the promise allows: 10% per revision in between,
    /// plus 1 s of rounding.
    pub fn breaks_promise(&self) -> bool {
        let allowed = self.from_s as f64 * 1.1f64.powi(self.revisions.max(1) as i32) + 1.0;
        // The slack keeps the exact boundary (`to == from * 1.1 + 1`) allowed.
        self.to_s as f64 > allowed + 1e-9
    }
}

/// What one fan saw of the ETA, kept on their [`FanRecord`].
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct EtaRecord {
    pub first: Option<FirstBand>,
    /// When the fan was admitted, ms since the run's start: Redis's instant when the fan
    /// read their admission record (a polling fan learns of it up to a poll later, which
    /// no forecast can know), else when the fan learnt of it.
    pub admitted_ms: Option<f64>,
    /// Consecutive updates that both showed a band: the pairs judged for a rise.
    pub pairs: u32,
    /// Pairs whose top rose more than the promise allows.
    pub rises: u32,
    /// The rise past the promise with the largest ratio.
    pub worst: Option<Rise>,
    /// The last update's top, while updates show a band; only the fan needs it.
    #[serde(skip)]
    last: Option<Band>,
}

impl EtaRecord {
    /// Takes in a queue status the fan received at `now_ms` (since the run's start).
    pub fn observe(&mut self, status: &Value, now_ms: f64) {
        self.observe_band(Band::of(status), now_ms);
    }

    /// Takes in the band one update showed (`None`: it showed none).
    pub fn observe_band(&mut self, band: Option<Band>, now_ms: f64) {
        let Some(band) = band else {
            // No band (paused, off sale, no forecast): the next one is not held to this one.
            self.last = None;
            return;
        };
        if self.first.is_none() {
            self.first = Some(FirstBand {
                seen_ms: now_ms,
                band,
            });
        }
        if let Some(last) = self.last {
            self.pairs += 1;
            let rise = Rise {
                from_s: last.high_s,
                to_s: band.high_s,
                revisions: revisions_between(last.revised_ms, band.revised_ms),
            };
            if rise.breaks_promise() {
                self.rises += 1;
                if self.worst.is_none_or(|worst| rise.ratio() > worst.ratio()) {
                    self.worst = Some(rise);
                }
            }
        }
        self.last = Some(band);
    }
}

/// Where an actual wait fell against a band.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    /// Shorter than `low`: admitted sooner than the band said.
    Sooner,
    Inside,
    /// Longer than `high`: the wait the band is there to warn of.
    Later,
}

/// One admitted fan's first band against the wait that followed it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Judged {
    /// From the update showing the band to the admission, seconds.
    pub actual_s: f64,
    pub place: Place,
    /// `|likely - actual| / actual`, the actual wait counted as at least 1 s (the band's
    /// resolution) so that a fan admitted at once does not divide by zero.
    pub relative_error: Option<f64>,
    /// `actual - likely`, seconds: positive when the fan waited longer than told.
    pub late_by_s: Option<f64>,
}

/// A fan's first band against their wait; `None` unless they saw a band and were admitted.
pub fn judge(record: &EtaRecord) -> Option<Judged> {
    let first = record.first?;
    let actual_s = ((record.admitted_ms? - first.seen_ms) / 1e3).max(0.0);
    // The band is in whole seconds: the wait is placed on the same resolution.
    let whole = actual_s.round() as i64;
    let place = if whole < first.band.low_s {
        Place::Sooner
    } else if whole > first.band.high_s {
        Place::Later
    } else {
        Place::Inside
    };
    let likely = first.band.likely_s.map(|s| s as f64);
    Some(Judged {
        actual_s,
        place,
        relative_error: likely.map(|likely| (likely - actual_s).abs() / actual_s.max(1.0)),
        late_by_s: likely.map(|likely| actual_s - likely),
    })
}

/// The 50th and 90th percentiles of a distribution.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct P50P90 {
    pub p50: f64,
    pub p90: f64,
}

impl P50P90 {
    /// By nearest rank; `None` for no values.
    fn of(mut values: Vec<f64>) -> Option<Self> {
        values.sort_by(f64::total_cmp);
        let at = |q: f64| {
            let rank = ((q * values.len() as f64).ceil() as usize).clamp(1, values.len());
            values[rank - 1]
        };
        (!values.is_empty()).then(|| Self {
            p50: at(0.5),
            p90: at(0.9),
        })
    }
}

/// How the ETA held up over every fan of a run.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct EtaSummary {
    /// Fans recorded (none in runs without fans, such as `browse`).
    pub fans: u64,
    /// Fans shown a band while waiting.
    pub shown: u64,
    /// Fans shown a band and then admitted: those judged against their first band.
    pub judged: u64,
    /// Judged fans whose wait fell inside their first band.
    pub inside: u64,
    /// Judged fans admitted sooner than the band's low.
    pub sooner: u64,
    /// Judged fans admitted later than the band's high.
    pub later: u64,
    /// Share of judged fans inside their first band, aimed at [`AIMED_COVERAGE`].
    pub coverage: Option<f64>,
    /// `|likely - actual| / actual` over judged fans told a likely wait.
    pub relative_error: Option<P50P90>,
    /// `actual - likely`, seconds (positive: waited longer than told).
    pub late_by_s: Option<P50P90>,
    /// Consecutive updates that both showed a band, over every fan.
    pub pairs: u64,
    /// Rises of the top past 10% + 1 s, and the fans who saw one.
    pub rises: u64,
    pub fans_with_rise: u64,
    /// The rise with the largest ratio.
    pub worst_rise: Option<Rise>,
}

impl EtaSummary {
    /// From every fan's record.
    pub fn of(fans: &[FanRecord]) -> Self {
        let mut summary = Self {
            fans: fans.len() as u64,
            ..Self::default()
        };
        let (mut relative, mut late_by) = (Vec::new(), Vec::new());
        for record in fans.iter().map(|fan| &fan.eta) {
            summary.shown += u64::from(record.first.is_some());
            summary.pairs += u64::from(record.pairs);
            summary.rises += u64::from(record.rises);
            summary.fans_with_rise += u64::from(record.rises > 0);
            if let Some(rise) = record.worst
                && summary
                    .worst_rise
                    .is_none_or(|worst| rise.ratio() > worst.ratio())
            {
                summary.worst_rise = Some(rise);
            }
            let Some(judged) = judge(record) else {
                continue;
            };
            summary.judged += 1;
            match judged.place {
                Place::Sooner => summary.sooner += 1,
                Place::Inside => summary.inside += 1,
                Place::Later => summary.later += 1,
            }
            relative.extend(judged.relative_error);
            late_by.extend(judged.late_by_s);
        }
        summary.coverage =
            (summary.judged > 0).then(|| summary.inside as f64 / summary.judged as f64);
        summary.relative_error = P50P90::of(relative);
        summary.late_by_s = P50P90::of(late_by);
        summary
    }

    /// The rises in words: how many, and the worst.
    pub fn rises_text(&self) -> String {
        let rises = format!(
            "{} of {} pairs of consecutive updates rose over 10% + 1 s",
            self.rises, self.pairs
        );
        match self.worst_rise {
            Some(worst) => format!(
                "{rises} (fans who saw one: {}; worst {} s -> {} s, x{:.2})",
                self.fans_with_rise,
                worst.from_s,
                worst.to_s,
                worst.ratio()
            ),
            None => rises,
        }
    }

    /// The report's rows: what was measured, and its value in words. Empty in runs
    /// without fans.
    pub fn rows(&self) -> Vec<(&'static str, String)> {
        if self.fans == 0 {
            return Vec::new();
        }
        if self.shown == 0 {
            return vec![("fans judged", "0: no waiting fan was shown a band".into())];
        }
        let share = |n: u64| n as f64 * 100.0 / self.judged.max(1) as f64;
        let mut rows = vec![(
            "fans judged",
            format!(
                "{} (shown a band, then admitted, out of {} shown one)",
                self.judged, self.shown
            ),
        )];
        if let Some(coverage) = self.coverage {
            rows.push((
                "wait inside the first band",
                format!(
                    "{:.1}% (aimed at {:.0}%); sooner than low {:.1}%, later than high {:.1}%",
                    coverage * 100.0,
                    AIMED_COVERAGE * 100.0,
                    share(self.sooner),
                    share(self.later)
                ),
            ));
        }
        if let (Some(relative), Some(late_by)) = (self.relative_error, self.late_by_s) {
            rows.push((
                "likely wait off by |likely - actual| / actual",
                format!(
                    "p50 {:.1}%, p90 {:.1}%",
                    relative.p50 * 100.0,
                    relative.p90 * 100.0
                ),
            ));
            rows.push((
                "waited longer than likely (actual - likely)",
                format!("p50 {:+.1} s, p90 {:+.1} s", late_by.p50, late_by.p90),
            ));
        }
        rows.push(("band's high rose between updates", self.rises_text()));
        rows
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn band(low_s: i64, likely_s: i64, high_s: i64) -> Option<Band> {
        Some(Band {
            low_s,
            likely_s: Some(likely_s),
            high_s,
            revised_ms: None,
        })
    }

    /// A fan shown `band` at 1 s into the run and admitted `waited_s` later.
    fn fan(band: Option<Band>, waited_s: Option<f64>) -> FanRecord {
        let mut record = EtaRecord::default();
        record.observe_band(band, 1_000.0);
        record.admitted_ms = waited_s.map(|s| 1_000.0 + s * 1e3);
        FanRecord {
            eta: record,
            ..FanRecord::default()
        }
    }

    #[test]
    fn a_rise_past_ten_percent_and_a_second_breaks_the_promise() {
        let rise = |from_s, to_s| {
            Rise {
                from_s,
                to_s,
                revisions: 1,
            }
            .breaks_promise()
        };

        assert!(rise(100, 112), "12% and 12 s up");
        assert!(!rise(100, 111), "exactly 10% + 1 s is allowed");
        assert!(!rise(100, 60), "a fall");
        assert!(!rise(100, 105), "a small rise");
        assert!(!rise(5, 6), "20% but only the 1 s of rounding");
        assert!(!rise(0, 1), "from nothing, the 1 s of rounding");
        assert!(rise(0, 2));
        assert!(rise(10, 13), "30%, past 10% + 1 s (12 s)");
    }

    #[test]
    fn the_record_counts_rises_between_consecutive_bands_and_keeps_the_worst() {
        let mut record = EtaRecord::default();

        record.observe_band(band(20, 30, 40), 0.0);
        record.observe_band(band(20, 30, 50), 1.0); // x1.25: a rise
        record.observe_band(band(10, 20, 30), 2.0); // a fall
        record.observe_band(None, 3.0); // paused: the next band starts afresh
        record.observe_band(band(50, 70, 90), 4.0);
        record.observe_band(band(50, 70, 99), 5.0); // exactly 10% + 1 s: allowed
        record.observe_band(band(60, 80, 200), 6.0); // x2.02: the worst

        assert_eq!(
            record.first.expect("a first band").band,
            band(20, 30, 40).expect("a band")
        );
        assert_eq!(record.first.expect("a first band").seen_ms, 0.0);
        assert_eq!((record.pairs, record.rises), (4, 2));
        assert_eq!(
            record.worst,
            Some(Rise {
                from_s: 99,
                to_s: 200,
                revisions: 1
            })
        );
    }

    #[test]
    fn a_band_is_read_only_from_a_waiting_status() {
        let waiting = json!({ "state": "WAITING", "estimatedWaitSeconds": 30,
            "eta": { "lowSeconds": 20, "highSeconds": 45 } });
        let no_band = json!({ "state": "WAITING", "estimatedWaitSeconds": null, "eta": null });
        let admitted = json!({ "state": "ADMITTED", "eta": { "lowSeconds": 0, "highSeconds": 0 } });

        assert_eq!(
            Band::of(&waiting),
            band(20, 30, 45),
            "no revisedAt: none kept"
        );
        assert_eq!(Band::of(&no_band), None);
        assert_eq!(Band::of(&admitted), None);
    }

    #[test]
    fn a_fan_who_saw_several_revisions_at_once_is_allowed_a_tenth_for_each() {
        let at = |revised_s: i64, high_s: i64| {
            Band::of(&json!({ "state": "WAITING", "estimatedWaitSeconds": high_s,
                "eta": { "lowSeconds": 1, "highSeconds": high_s,
                    "revisedAt": format!("2026-12-05T10:00:{revised_s:02}+00:00") } }))
        };
        let mut polled = EtaRecord::default();
        polled.observe_band(at(0, 100), 0.0);
        // Two revisions later (20 s): 1.1 * 1.1 * 100 + 1 = 122 is allowed.
        polled.observe_band(at(20, 122), 20_000.0);
        let mut once = EtaRecord::default();
        once.observe_band(at(0, 100), 0.0);
        once.observe_band(at(10, 122), 10_000.0);

        assert_eq!(at(20, 5).map(|band| band.revised_ms.is_some()), Some(true));
        assert_eq!((polled.pairs, polled.rises), (1, 0));
        assert_eq!(
            (once.pairs, once.rises),
            (1, 1),
            "one revision allows 111 s"
        );
    }

    #[test]
    fn a_wait_is_placed_against_the_band_at_whole_seconds() {
        let place = |waited_s| {
            judge(&fan(band(20, 30, 40), Some(waited_s)).eta)
                .expect("judged")
                .place
        };

        assert_eq!(place(19.4), Place::Sooner);
        assert_eq!(place(19.5), Place::Inside);
        assert_eq!(place(40.4), Place::Inside);
        assert_eq!(place(40.6), Place::Later);
    }

    #[test]
    fn the_likely_error_is_relative_to_the_actual_wait_and_signed_in_seconds() {
        let judged = judge(&fan(band(20, 30, 40), Some(40.0)).eta).expect("judged");
        assert_eq!(judged.relative_error, Some(0.25));
        assert_eq!(judged.late_by_s, Some(10.0));

        let at_once = judge(&fan(band(0, 2, 5), Some(0.0)).eta).expect("judged");
        assert_eq!(at_once.relative_error, Some(2.0), "the wait counts as 1 s");
        assert_eq!(at_once.late_by_s, Some(-2.0));

        assert_eq!(
            judge(&fan(band(20, 30, 40), None).eta),
            None,
            "never admitted"
        );
        assert_eq!(
            judge(&fan(None, Some(10.0)).eta),
            None,
            "never shown a band"
        );
    }

    #[test]
    fn the_summary_gives_coverage_and_error_percentiles_over_judged_fans() {
        // Ten fans told 10-30 s (likely 20): nine waited 12, 14, ..., 28 s and one 40 s.
        let mut fans: Vec<FanRecord> = (1..=9)
            .map(|i| fan(band(10, 20, 30), Some(10.0 + 2.0 * f64::from(i))))
            .collect();
        fans.push(fan(band(10, 20, 30), Some(40.0)));
        fans.push(fan(band(10, 20, 30), None)); // shown, not admitted: not judged
        fans.push(fan(None, Some(5.0))); // never shown a band

        let summary = EtaSummary::of(&fans);

        assert_eq!((summary.fans, summary.shown, summary.judged), (12, 11, 10));
        assert_eq!((summary.sooner, summary.inside, summary.later), (0, 9, 1));
        assert_eq!(summary.coverage, Some(0.9));
        // Waits 12, 14, ..., 28 and 40 against a likely 20: late by -8, -6, ..., +8, +20.
        let late_by = summary.late_by_s.expect("late_by");
        assert_eq!((late_by.p50, late_by.p90), (0.0, 8.0));
        let relative = summary.relative_error.expect("relative error");
        assert!((relative.p50 - 6.0 / 26.0).abs() < 1e-12, "{relative:?}");
        assert!((relative.p90 - 0.5).abs() < 1e-12, "{relative:?}");
    }

    #[test]
    fn with_no_band_shown_the_summary_says_so() {
        let summary = EtaSummary::of(&[fan(None, Some(5.0))]);

        assert_eq!(summary.coverage, None);
        assert_eq!(
            summary.rows(),
            [(
                "fans judged",
                "0: no waiting fan was shown a band".to_owned()
            )]
        );
        assert!(EtaSummary::of(&[]).rows().is_empty());
    }
}
