//! The wait a fan is shown: a band that holds most waits and that does not creep up.
//!
//! Fans distrust a wait that keeps growing more than one that starts honest and wide. So the
//! band comes from a *forecast* of the line's pace (fans let in per second, at its slow end,
//! likely and fast end) that the ticker revises every [`REVISE_EVERY_MS`] from the admissions
//! actually achieved, and a revision may slow the forecast by at most [`MOST_RISE`]. A fan's
//! position never grows while they wait, so between two revisions the top of their band rises
//! by at most 10% (plus one second of rounding), whatever the line does. Only an admin's cut
//! ([`crate::queue_store::forecast::forget`]) starts a new forecast that may show longer
//! waits at once; while the line is paused or no seat is free no wait is shown at all.
//!
//! The pace is measured per window of active time (time the line was moving: not paused, seats
//! on sale, fans waiting), so a pause does not drag the forecast down. The likely pace is the
//! mean of the last [`WINDOWS`] windows; the ends are their 10th and 90th percentiles, widened
//! while few windows are known (by `1/sqrt(n)`), so the band aims to hold [`COVERAGE`] of
//! waits.

/// Share of waits the band aims to hold.
pub const COVERAGE: f64 = 0.8;
/// How often the forecast is revised, in ms; the promise holds between two revisions.
pub const REVISE_EVERY_MS: i64 = 10_000;
/// Most a revision may lengthen any wait: the pace falls to no less than `1 / MOST_RISE`.
pub const MOST_RISE: f64 = 1.1;
/// Windows remembered: three minutes of the line's pace.
pub const WINDOWS: usize = 18;
/// A window with less active time than this carries over into the next.
const MIN_ACTIVE_MS: i64 = 2_000;
/// How far the ends sit from the likely pace with one window known (shrinks with `sqrt(n)`).
const SPREAD: f64 = 0.5;
/// The slowest pace a forecast names (fans per second): below it a wait would be unbounded.
const SLOWEST: f64 = 0.001;

/// The line's pace as forecast: fans let in per second.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Pace {
    pub slow: f64,
    pub likely: f64,
    pub fast: f64,
    /// When the forecast was revised (ms since the epoch).
    pub at_ms: i64,
}

/// What Redis counts for the reviser: totals since the queue began.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub admitted_total: i64,
    /// Time the line was moving, in ms.
    pub active_ms: i64,
}

/// A forecast and what the next revision measures from.
#[derive(Clone, Debug, PartialEq)]
pub struct Forecast {
    pub pace: Pace,
    /// The counts at the start of the window being measured.
    pub base: Counts,
    /// Fans per second in each past window, oldest first.
    pub windows: Vec<f64>,
}

/// A fan's wait, in whole seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Band {
    pub low: i64,
    pub likely: i64,
    pub high: i64,
}

/// The next forecast, or `None` when none is due. With no forecast yet, the first window
/// starts now and the first forecast comes when it ends; a count that went backwards
/// (Redis lost the queue) starts over the same way.
pub fn revise(previous: Option<&Forecast>, counts: Counts, now_ms: i64) -> Option<Forecast> {
    let Some(previous) = previous else {
        return Some(Forecast {
            pace: Pace {
                slow: 0.0,
                likely: 0.0,
                fast: 0.0,
                at_ms: now_ms,
            },
            base: counts,
            windows: Vec::new(),
        });
    };
    if now_ms - previous.pace.at_ms < REVISE_EVERY_MS {
        return None;
    }
    let admitted = counts.admitted_total - previous.base.admitted_total;
    let active = counts.active_ms - previous.base.active_ms;
    if admitted < 0 || active < 0 {
        return revise(None, counts, now_ms);
    }
    let mut next = previous.clone();
    next.pace.at_ms = now_ms;
    if active < MIN_ACTIVE_MS {
        return Some(next);
    }
    next.windows.push(admitted as f64 * 1_000.0 / active as f64);
    if next.windows.len() > WINDOWS {
        next.windows.remove(0);
    }
    next.base = counts;
    let measured = measure(&next.windows);
    next.pace = if known(&previous.pace) {
        // The guarantee: no end of the pace falls by more than MOST_RISE in one revision.
        order(Pace {
            slow: measured.slow.max(previous.pace.slow / MOST_RISE),
            likely: measured.likely.max(previous.pace.likely / MOST_RISE),
            fast: measured.fast.max(previous.pace.fast / MOST_RISE),
            at_ms: now_ms,
        })
    } else {
        Pace {
            at_ms: now_ms,
            ..measured
        }
    };
    Some(next)
}

/// Whether a pace has been measured (a new forecast has none until its first window ends).
pub fn known(pace: &Pace) -> bool {
    pace.slow > 0.0
}

/// The pace the windows show: the mean, and the 10th and 90th percentiles widened while
/// few windows are known.
fn measure(windows: &[f64]) -> Pace {
    let mut sorted = windows.to_vec();
    sorted.sort_by(f64::total_cmp);
    let likely = (sorted.iter().sum::<f64>() / sorted.len() as f64).max(SLOWEST);
    let spread = SPREAD / (sorted.len() as f64).sqrt();
    order(Pace {
        slow: quantile(&sorted, 0.1)
            .min(likely * (1.0 - spread))
            .max(SLOWEST),
        likely,
        fast: quantile(&sorted, 0.9).max(likely * (1.0 + spread)),
        at_ms: 0,
    })
}

/// Keeps `slow <= likely <= fast` by raising the later ones: a faster pace only shortens waits,
/// so this never breaks the guarantee.
fn order(pace: Pace) -> Pace {
    let likely = pace.likely.max(pace.slow);
    Pace {
        likely,
        fast: pace.fast.max(likely),
        ..pace
    }
}

/// Linear interpolation between the closest ranks of a sorted, non-empty slice.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let rank = q * (sorted.len() - 1) as f64;
    let below = rank.floor() as usize;
    let above = rank.ceil() as usize;
    sorted[below] + (sorted[above] - sorted[below]) * (rank - below as f64)
}

/// The wait of the fan at `position` (1 = next in): their own turn included, rounded up.
pub fn band(pace: &Pace, position: i64) -> Option<Band> {
    if !known(pace) || position < 1 {
        return None;
    }
    let wait = |rate: f64| (position as f64 / rate).ceil() as i64;
    Some(Band {
        low: wait(pace.fast),
        likely: wait(pace.likely),
        high: wait(pace.slow),
    })
}

/// The pace as Redis keeps it for readers: `at_ms|slow|likely|fast`.
pub fn encode_pace(pace: &Pace) -> String {
    format!(
        "{}|{:.4}|{:.4}|{:.4}",
        pace.at_ms, pace.slow, pace.likely, pace.fast
    )
}

/// Reads [`encode_pace`]'s form; `None` when it does not read.
pub fn decode_pace(text: &str) -> Option<Pace> {
    let mut parts = text.split('|');
    let at_ms = parts.next()?.parse().ok()?;
    let mut rate = || {
        parts
            .next()?
            .parse::<f64>()
            .ok()
            .filter(|rate| rate.is_finite() && *rate >= 0.0)
    };
    let pace = Pace {
        slow: rate()?,
        likely: rate()?,
        fast: rate()?,
        at_ms,
    };
    parts.next().is_none().then_some(pace)
}

/// The reviser's state as Redis keeps it: `admitted_total|active_ms|w1,w2,...`.
pub fn encode_base(forecast: &Forecast) -> String {
    let windows: Vec<String> = forecast
        .windows
        .iter()
        .map(|rate| format!("{rate:.4}"))
        .collect();
    format!(
        "{}|{}|{}",
        forecast.base.admitted_total,
        forecast.base.active_ms,
        windows.join(",")
    )
}

/// Reads a forecast back from its two stored parts; `None` when either does not read.
pub fn decode(pace: &str, base: &str) -> Option<Forecast> {
    let pace = decode_pace(pace)?;
    let mut parts = base.split('|');
    let base_counts = Counts {
        admitted_total: parts.next()?.parse().ok()?,
        active_ms: parts.next()?.parse().ok()?,
    };
    let windows = match parts.next()? {
        "" => Vec::new(),
        list => list
            .split(',')
            .map(|rate| rate.parse::<f64>().ok().filter(|rate| rate.is_finite()))
            .collect::<Option<Vec<f64>>>()?,
    };
    parts.next().is_none().then_some(Forecast {
        pace,
        base: base_counts,
        windows,
    })
}

#[cfg(test)]
mod tests {
    use rand::{Rng as _, SeedableRng as _};

    use super::*;

    const SECOND: i64 = 1_000;

    /// A forecast after windows at these paces, one per revision, 10 s of active time each.
    fn after(paces: &[f64]) -> Forecast {
        let mut forecast = revise(None, Counts::default(), 0).expect("a first forecast");
        let mut counts = Counts::default();
        for (index, pace) in paces.iter().enumerate() {
            counts.admitted_total += (pace * 10.0).round() as i64;
            counts.active_ms += 10 * SECOND;
            forecast = revise(Some(&forecast), counts, (index as i64 + 1) * 10 * SECOND)
                .expect("a revision is due");
        }
        forecast
    }

    #[test]
    fn there_is_no_band_until_the_first_window_ends() {
        let first = revise(None, Counts::default(), 0).expect("a new forecast");
        assert_eq!(band(&first.pace, 10), None);
        assert_eq!(revise(Some(&first), Counts::default(), 9 * SECOND), None);
        let measured = after(&[20.0]);
        let band = band(&measured.pace, 100).expect("a band");
        assert_eq!(band.likely, 5, "100 fans at 20/s");
        assert_eq!(band.low, 4, "fast end 30/s with one window");
        assert_eq!(band.high, 10, "slow end 10/s with one window");
    }

    #[test]
    fn a_steady_line_narrows_the_band_as_windows_add_up() {
        let one = after(&[20.0]);
        let many = after(&[20.0; 16]);
        let (one, many) = (
            band(&one.pace, 1000).expect("a value"),
            band(&many.pace, 1000).expect("a value"),
        );
        assert_eq!(many.likely, 50);
        assert!(
            many.high - many.low < one.high - one.low,
            "{one:?} then {many:?}"
        );
        assert!(many.low <= 50 && many.high >= 50);
    }

    #[test]
    fn a_slowdown_lengthens_the_wait_by_at_most_a_tenth_per_revision() {
        let fast = after(&[50.0; 10]);
        let mut paces = vec![50.0; 10];
        paces.push(5.0);
        let slowed = after(&paces);
        let before = band(&fast.pace, 1000).expect("a value");
        let now = band(&slowed.pace, 1000).expect("a value");
        assert!(
            now.high > before.high,
            "the slowdown shows: {before:?} -> {now:?}"
        );
        assert!(
            now.high as f64 <= before.high as f64 * MOST_RISE + 1.0,
            "{before:?} -> {now:?}"
        );
        assert!(now.likely as f64 <= before.likely as f64 * MOST_RISE + 1.0);
        assert!(now.low as f64 <= before.low as f64 * MOST_RISE + 1.0);
    }

    #[test]
    fn a_faster_line_shortens_the_wait_at_once() {
        let slow = after(&[5.0; 4]);
        let mut paces = vec![5.0; 4];
        paces.extend([100.0; 4]);
        let fast = after(&paces);
        let (before, now) = (
            band(&slow.pace, 1000).expect("a value"),
            band(&fast.pace, 1000).expect("a value"),
        );
        assert!(now.likely * 3 < before.likely, "{before:?} -> {now:?}");
    }

    #[test]
    fn paused_time_does_not_count_against_the_pace() {
        let mut forecast = after(&[20.0; 3]);
        let counts = forecast.base;
        // A minute paused: no active time, no admissions; the windows carry over.
        for minute_tick in 1..=6 {
            forecast = revise(Some(&forecast), counts, (30 + 10 * minute_tick) * SECOND)
                .expect("revisions still come");
        }
        assert_eq!(forecast.windows, vec![20.0; 3]);
        assert_eq!(band(&forecast.pace, 200).expect("a value").likely, 10);
    }

    #[test]
    fn only_three_minutes_of_windows_are_kept() {
        let forecast = after(&[7.0; 40]);
        assert_eq!(forecast.windows.len(), WINDOWS);
    }

    #[test]
    fn counts_that_went_backwards_start_a_new_forecast() {
        let forecast = after(&[20.0; 3]);
        let restarted = revise(Some(&forecast), Counts::default(), 100 * SECOND).expect("a value");
        assert!(restarted.windows.is_empty());
        assert_eq!(band(&restarted.pace, 10), None);
    }

    #[test]
    fn the_band_keeps_its_order_and_holds_its_ends() {
        let forecast = after(&[0.0, 30.0, 30.0, 30.0, 30.0, 30.0, 30.0, 30.0, 30.0, 30.0]);
        let pace = forecast.pace;
        assert!(
            pace.slow <= pace.likely && pace.likely <= pace.fast,
            "{pace:?}"
        );
        let band = band(&pace, 300).expect("a value");
        assert!(
            band.low <= band.likely && band.likely <= band.high,
            "{band:?}"
        );
    }

    /// The promise, against a line whose pace wanders at random (lulls to nothing, bursts):
    /// a waiting fan's band top never rises more than 10% and a second between revisions.
    #[test]
    fn a_waiting_fans_band_never_rises_more_than_a_tenth_between_revisions() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(17);
        for _ in 0..200 {
            let mut forecast = revise(None, Counts::default(), 0).expect("a value");
            let mut counts = Counts::default();
            let mut position: i64 = rng.random_range(50..20_000);
            let mut shown: Option<Band> = None;
            for revision in 1..200 {
                let pace: f64 = match rng.random_range(0..10) {
                    0 => 0.0,
                    1 => rng.random_range(100.0..400.0),
                    _ => rng.random_range(1.0..60.0),
                };
                let active = rng.random_range(0..=10) * SECOND;
                let admitted = (pace * active as f64 / 1_000.0).round() as i64;
                counts.admitted_total += admitted;
                counts.active_ms += active;
                position -= admitted.min(position - 1);
                forecast =
                    revise(Some(&forecast), counts, revision * 10 * SECOND).expect("a value");
                let Some(now) = band(&forecast.pace, position) else {
                    continue;
                };
                if let Some(before) = shown {
                    assert!(
                        now.high as f64 <= before.high as f64 * MOST_RISE + 1.0,
                        "rose from {before:?} to {now:?} at position {position}"
                    );
                }
                shown = Some(now);
            }
        }
    }

    #[test]
    fn forecasts_survive_their_stored_form_and_bad_forms_do_not_read() {
        let forecast = after(&[12.5, 30.0, 7.25]);
        let read = decode(&encode_pace(&forecast.pace), &encode_base(&forecast)).expect("a value");
        assert_eq!(read.base, forecast.base);
        assert_eq!(read.windows, forecast.windows);
        assert!((read.pace.likely - forecast.pace.likely).abs() < 1e-3);
        let fresh = revise(None, Counts::default(), 5).expect("a value");
        assert_eq!(
            decode(&encode_pace(&fresh.pace), &encode_base(&fresh)),
            Some(fresh)
        );
        for (pace, base) in [
            ("", "0|0|"),
            ("1|2|3", "0|0|"),
            ("1|2|3|4|5", "0|0|"),
            ("1|-2|3|4", "0|0|"),
            ("1|NaN|3|4", "0|0|"),
            ("1|2|3|4", "0|0"),
            ("1|2|3|4", "0|0|1,x"),
        ] {
            assert_eq!(decode(pace, base), None, "{pace} / {base}");
        }
    }
}
