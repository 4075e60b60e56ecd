//! Admissions, from Redis and the samples taken during the run: nobody was admitted past
//! the cap, and every admission record belongs to an admitted fan.

use std::collections::{HashMap, HashSet};

use fred::prelude::{HashesInterface as _, SortedSetsInterface as _};

use super::Audit;
use crate::system::{QueueSample, Store};

/// Nobody was admitted while the count was at or over the cap ([`cap_excess`]).
pub(super) fn within_the_cap(audit: &mut Audit, samples: &[QueueSample], default_cap: i64) {
    let (worst, over) = cap_excess(samples, default_cap);
    let peak = samples.iter().map(|s| s.admitted).max().unwrap_or(0);
    audit.check(
        "nobody admitted past the cap",
        over == 0,
        format!(
            "{} samples; peak admitted {peak}; {over} samples over the cap (worst by {})",
            samples.len(),
            worst.max(0)
        ),
    );
}

/// Every admission record (`tok`) belongs to a fan in the admitted set (`adm`).
pub(super) async fn records_agree(audit: &mut Audit, store: &Store) -> anyhow::Result<()> {
    let tok: HashMap<String, String> = store.redis.hgetall(&store.keys.tok).await?;
    let adm: Vec<String> = store
        .redis
        .zrange(&store.keys.adm, 0, -1, None, false, None, false)
        .await?;
    let adm: HashSet<String> = adm.into_iter().collect();
    let orphans = tok.keys().filter(|fan| !adm.contains(*fan)).count();
    audit.check(
        "admission records agree with the admitted set",
        orphans == 0,
        format!(
            "{} admitted, {} token records, {orphans} records without an admission",
            adm.len(),
            tok.len()
        ),
    );
    Ok(())
}

/// The largest excess of admitted fans over the cap across samples, and how many samples
/// were over. `default_cap` applies where no admin setting was in Redis.
///
/// A cap can be cut while more fans shop than the new cap allows (the autopilot, or an
/// admin): they finish, and nobody new comes in until the count is under it again. So a
/// sample is over only when the count grew past the cap in force since the last sample (the
/// higher of the two caps, since it may have moved in between).
pub fn cap_excess(samples: &[QueueSample], default_cap: i64) -> (i64, usize) {
    let mut worst = i64::MIN;
    let mut over = 0;
    let mut previous: Option<(i64, i64)> = None;
    for sample in samples {
        let cap = sample.capacity.unwrap_or(default_cap);
        let (allowed, grew) = match previous {
            Some((admitted, earlier_cap)) => (cap.max(earlier_cap), sample.admitted > admitted),
            None => (cap, true),
        };
        if grew {
            let excess = sample.admitted - allowed;
            worst = worst.max(excess);
            over += usize::from(excess > 0);
        }
        previous = Some((sample.admitted, cap));
    }
    (if worst == i64::MIN { 0 } else { worst }, over)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_check_reports_the_worst_excess() {
        let sample = |admitted, capacity| QueueSample {
            admitted,
            capacity,
            ..QueueSample::default()
        };
        let samples = vec![sample(10, Some(10)), sample(12, Some(10)), sample(3, None)];

        assert_eq!(cap_excess(&samples, 5), (2, 1));
        assert_eq!(cap_excess(&samples[..1], 5), (0, 0));
        assert_eq!(cap_excess(&[], 5), (0, 0));
    }

    #[test]
    fn a_cut_cap_is_over_only_when_fans_are_admitted_past_it() {
        let sample = |admitted, capacity| QueueSample {
            admitted,
            capacity: Some(capacity),
            ..QueueSample::default()
        };
        // Cut from 1,000 to 689 with 1,000 shopping: they finish, nobody new comes in.
        let cut = vec![sample(1_000, 1_000), sample(1_000, 689), sample(900, 689)];
        assert_eq!(cap_excess(&cut, 5).1, 0);
        // Admitting while still over the cut cap is a breach.
        let breach = vec![sample(1_000, 1_000), sample(900, 689), sample(905, 689)];
        assert_eq!(cap_excess(&breach, 5), (216, 1));
    }
}
