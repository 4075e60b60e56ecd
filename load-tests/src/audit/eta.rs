//! The ETA band's promise, from the fans' own records: for a waiting fan its top never rose
//! more than 10% (plus 1 s of rounding) from one update to the next.

use super::Audit;
use crate::{eta::EtaSummary, metrics::FanRecord};

/// No fan saw the band's top rise past the promise. Not judged in a chaos run: a fault stalls
/// admissions (Redis away, the autopilot cutting the rate), which the promise excepts.
pub(super) fn band_never_rose(audit: &mut Audit, fans: &[FanRecord], chaos: bool) {
    let summary = EtaSummary::of(fans);
    let measured = if summary.shown == 0 {
        "0 fans judged: no waiting fan was shown a band".to_owned()
    } else {
        format!(
            "{} fans judged (shown a band while waiting); {}",
            summary.shown,
            summary.rises_text()
        )
    };
    let (passed, detail) = if chaos {
        (true, format!("not judged in a chaos run: {measured}"))
    } else {
        (summary.rises == 0, measured)
    };
    audit.check(
        "the ETA band never rose more than 10% between updates",
        passed,
        detail,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eta::{Band, EtaRecord};

    /// A fan shown bands with these tops, one update after another.
    fn fan(highs: &[i64]) -> FanRecord {
        let mut eta = EtaRecord::default();
        for (n, high_s) in highs.iter().enumerate() {
            let band = Band {
                low_s: 0,
                likely_s: None,
                high_s: *high_s,
                revised_ms: None,
            };
            eta.observe_band(Some(band), n as f64);
        }
        FanRecord {
            eta,
            ..FanRecord::default()
        }
    }

    #[test]
    fn a_band_that_rose_past_the_promise_fails_the_check_except_under_chaos() {
        let fans = [fan(&[60, 50, 40]), fan(&[40, 60])];
        let mut audit = Audit::default();

        band_never_rose(&mut audit, &fans, false);
        band_never_rose(&mut audit, &fans, true);

        assert!(!audit.checks[0].passed);
        assert!(
            audit.checks[0]
                .detail
                .contains("2 fans judged (shown a band while waiting); 1 of 3 pairs"),
            "{}",
            audit.checks[0].detail
        );
        assert!(audit.checks[0].detail.contains("worst 40 s -> 60 s, x1.50"));
        assert!(audit.checks[1].passed);
        assert!(
            audit.checks[1]
                .detail
                .starts_with("not judged in a chaos run: 2 fans judged")
        );
    }

    #[test]
    fn a_band_that_only_fell_or_was_never_shown_passes() {
        let mut audit = Audit::default();

        band_never_rose(&mut audit, &[fan(&[60, 66, 50])], false);
        band_never_rose(&mut audit, &[fan(&[]), FanRecord::default()], false);

        assert!(audit.checks[0].passed, "{:?}", audit.checks[0]);
        assert!(audit.checks[1].passed);
        assert_eq!(
            audit.checks[1].detail,
            "0 fans judged: no waiting fan was shown a band"
        );
    }
}
