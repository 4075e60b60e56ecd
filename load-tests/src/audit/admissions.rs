//! Admissions, from Redis and the samples taken during the run: the admitted count never
//! went over the cap, and every admission record belongs to an admitted fan.

use std::collections::{HashMap, HashSet};

use fred::prelude::{HashesInterface as _, SortedSetsInterface as _};

use super::Audit;
use crate::system::{QueueSample, Store};

/// The admitted count stayed within the cap in every sample.
pub(super) fn within_the_cap(audit: &mut Audit, samples: &[QueueSample], default_cap: i64) {
    let (worst, over) = cap_excess(samples, default_cap);
    let peak = samples.iter().map(|s| s.admitted).max().unwrap_or(0);
    audit.check(
        "admitted count never over the cap",
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
pub fn cap_excess(samples: &[QueueSample], default_cap: i64) -> (i64, usize) {
    let mut worst = i64::MIN;
    let mut over = 0;
    for sample in samples {
        let excess = sample.admitted - sample.capacity.unwrap_or(default_cap);
        worst = worst.max(excess);
        over += usize::from(excess > 0);
    }
    (if samples.is_empty() { 0 } else { worst }, over)
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
}
