//! The audit after every run, straight from Postgres and Redis and the fans' own records:
//! nobody was sold a seat twice, the seat states agree with the bookings, the admitted
//! count never went over the cap, and nobody was let in out of turn.
//!
//! Order is judged two ways, both on Redis's own admission times (from each fan's admission
//! record, read the moment the fan learnt of it):
//! - by ticket number: a fan with a smaller number admitted strictly later than one with a
//!   larger number is an inversion;
//! - by the fans' clocks: a fan whose `joinQueue` had *answered* before another's was *sent*
//!   and who was admitted strictly later is an inversion. No clock skew or in-flight overlap
//!   can make this one a false alarm.
//!
//! Fans admitted in the same tick share one instant: never an inversion.

use std::collections::{BTreeMap, HashMap, HashSet};

use anyhow::Context as _;
use fred::prelude::{HashesInterface as _, SortedSetsInterface as _};
use sea_orm::{ConnectionTrait as _, Statement};
use serde::{Deserialize, Serialize};

use crate::{metrics::FanRecord, system::QueueSample, system::Store};

/// One check of the audit.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Check {
    pub name: String,
    pub passed: bool,
    /// What was measured, in words and numbers.
    pub detail: String,
}

/// The whole audit.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Audit {
    pub checks: Vec<Check>,
    /// Seats by state at the end (`AVAILABLE`, `HELD`, `BOOKED`).
    pub seats: BTreeMap<String, i64>,
    /// Bookings by status at the end.
    pub bookings: BTreeMap<String, i64>,
}

impl Audit {
    /// True when every check passed.
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|check| check.passed)
    }

    fn check(&mut self, name: &str, passed: bool, detail: String) {
        self.checks.push(Check {
            name: name.to_owned(),
            passed,
            detail,
        });
    }
}

/// A binary indexed tree counting values by rank.
struct Fenwick(Vec<u64>);

impl Fenwick {
    fn new(n: usize) -> Self {
        Self(vec![0; n + 1])
    }

    fn add(&mut self, rank: usize) {
        let mut i = rank + 1;
        while i < self.0.len() {
            self.0[i] += 1;
            i += i & i.wrapping_neg();
        }
    }

    /// How many added ranks are <= `rank`.
    fn up_to(&self, rank: usize) -> u64 {
        let mut i = rank + 1;
        let mut sum = 0;
        while i > 0 {
            sum += self.0[i];
            i -= i & i.wrapping_neg();
        }
        sum
    }
}

/// Ranks of admission times (equal times share a rank).
fn ranks(times: &[f64]) -> (Vec<usize>, usize) {
    let mut sorted: Vec<f64> = times.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted.dedup();
    let rank = times
        .iter()
        .map(|t| sorted.partition_point(|s| s < t))
        .collect();
    (rank, sorted.len())
}

/// Pairs `(a, b)` with `ticket(a) < ticket(b)` and `admitted(a) > admitted(b)`.
/// Input: `(ticket, admitted_ms)` per fan.
pub fn ticket_inversions(fans: &[(i64, f64)]) -> u64 {
    let mut fans = fans.to_vec();
    fans.sort_by_key(|(ticket, _)| *ticket);
    let times: Vec<f64> = fans.iter().map(|(_, t)| *t).collect();
    let (rank, distinct) = ranks(&times);
    let mut tree = Fenwick::new(distinct);
    let mut inversions = 0;
    for (seen, r) in rank.iter().enumerate() {
        // Earlier tickets admitted strictly later than this one.
        inversions += seen as u64 - tree.up_to(*r);
        tree.add(*r);
    }
    inversions
}

/// Pairs `(a, b)` where `a`'s join had answered before `b`'s was sent, yet `a` was admitted
/// strictly later. Input: `(join_start, join_done, admitted_ms)` per fan.
pub fn causal_inversions(fans: &[(f64, f64, f64)]) -> u64 {
    let times: Vec<f64> = fans.iter().map(|(_, _, t)| *t).collect();
    let (rank, distinct) = ranks(&times);
    let mut by_start: Vec<usize> = (0..fans.len()).collect();
    by_start.sort_by(|a, b| fans[*a].0.total_cmp(&fans[*b].0));
    let mut by_done: Vec<usize> = (0..fans.len()).collect();
    by_done.sort_by(|a, b| fans[*a].1.total_cmp(&fans[*b].1));
    let mut tree = Fenwick::new(distinct);
    let mut inserted = 0u64;
    let mut next = 0;
    let mut inversions = 0;
    for b in by_start {
        while next < by_done.len() && fans[by_done[next]].1 < fans[b].0 {
            tree.add(rank[by_done[next]]);
            inserted += 1;
            next += 1;
        }
        inversions += inserted - tree.up_to(rank[b]);
    }
    inversions
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

/// Seats the fans were told they bought that the database does not show as theirs, and
/// seats two fans were both told they bought.
pub fn fans_disagree(fans: &[FanRecord], confirmed: &HashMap<String, Vec<i64>>) -> (u64, u64) {
    let mut missing = 0;
    let mut owners: HashMap<i64, usize> = HashMap::new();
    for fan in fans {
        let Some(booking) = &fan.booking else {
            continue;
        };
        let in_db: HashSet<i64> = confirmed
            .get(booking)
            .map(|seats| seats.iter().copied().collect())
            .unwrap_or_default();
        for seat in &fan.seats {
            missing += u64::from(!in_db.contains(seat));
            *owners.entry(*seat).or_default() += 1;
        }
    }
    let doubled = owners.values().filter(|n| **n > 1).count() as u64;
    (missing, doubled)
}

async fn count(store: &Store, sql: &str) -> anyhow::Result<i64> {
    let db = &store.db;
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            sql,
            [store.event.into()],
        ))
        .await
        .with_context(|| format!("audit query: {sql}"))?
        .context("an audit count returned no row")?;
    Ok(row.try_get_by_index::<i64>(0)?)
}

async fn grouped(store: &Store, sql: &str) -> anyhow::Result<BTreeMap<String, i64>> {
    let db = &store.db;
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            sql,
            [store.event.into()],
        ))
        .await
        .with_context(|| format!("audit query: {sql}"))?;
    let mut out = BTreeMap::new();
    for row in rows {
        out.insert(
            row.try_get_by_index::<String>(0)?,
            row.try_get_by_index::<i64>(1)?,
        );
    }
    Ok(out)
}

/// Runs every check.
pub async fn run(
    store: &Store,
    fans: &[FanRecord],
    samples: &[QueueSample],
    default_cap: i64,
    lottery: i64,
) -> anyhow::Result<Audit> {
    let mut audit = Audit {
        seats: grouped(
            store,
            "SELECT status, count(*) FROM seats WHERE event_id = $1 GROUP BY status",
        )
        .await?,
        bookings: grouped(
            store,
            "SELECT status, count(*) FROM bookings WHERE event_id = $1 GROUP BY status",
        )
        .await?,
        ..Audit::default()
    };

    // Judged on bookings.status, not on the confirmed flag the unique index relies on.
    let doubled = count(
        store,
        "SELECT count(*) FROM (SELECT bs.seat_id FROM booking_seats bs \
         JOIN bookings b ON b.id = bs.booking_id \
         WHERE b.event_id = $1 AND b.status = 'CONFIRMED' \
         GROUP BY bs.seat_id HAVING count(*) > 1) doubled",
    )
    .await?;
    audit.check(
        "no seat in two confirmed bookings",
        doubled == 0,
        format!("{doubled} seats in more than one confirmed booking"),
    );

    let booked = count(
        store,
        "SELECT count(*) FROM seats WHERE event_id = $1 AND status = 'BOOKED'",
    )
    .await?;
    let in_bookings = count(
        store,
        "SELECT count(DISTINCT bs.seat_id) FROM booking_seats bs \
         JOIN bookings b ON b.id = bs.booking_id \
         WHERE b.event_id = $1 AND b.status = 'CONFIRMED'",
    )
    .await?;
    let stray = count(
        store,
        "SELECT count(*) FROM seats s LEFT JOIN bookings b ON b.id = s.booking_id \
         WHERE s.event_id = $1 AND s.status = 'BOOKED' \
         AND (b.status IS DISTINCT FROM 'CONFIRMED' OR NOT EXISTS (SELECT 1 FROM booking_seats bs \
              WHERE bs.booking_id = s.booking_id AND bs.seat_id = s.id))",
    )
    .await?;
    audit.check(
        "seats BOOKED = seats in confirmed bookings",
        booked == in_bookings && stray == 0,
        format!(
            "{booked} seats BOOKED, {in_bookings} seats in confirmed bookings, {stray} BOOKED seats not backed by their confirmed booking"
        ),
    );

    let unpaid = count(
        store,
        "SELECT count(*) FROM bookings b WHERE b.event_id = $1 AND b.status = 'CONFIRMED' \
         AND (SELECT count(*) FROM payments p WHERE p.booking_id = b.id AND p.status = 'SUCCEEDED') <> 1",
    )
    .await?;
    audit.check(
        "every confirmed booking captured exactly once",
        unpaid == 0,
        format!("{unpaid} confirmed bookings without exactly one succeeded payment"),
    );

    let db = &store.db;
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            "SELECT b.id::text, bs.seat_id FROM bookings b JOIN booking_seats bs ON bs.booking_id = b.id \
             WHERE b.event_id = $1 AND b.status = 'CONFIRMED'",
            [store.event.into()],
        ))
        .await
        .context("reading confirmed bookings")?;
    let mut confirmed: HashMap<String, Vec<i64>> = HashMap::new();
    for row in rows {
        confirmed
            .entry(row.try_get_by_index::<String>(0)?)
            .or_default()
            .push(row.try_get_by_index::<i64>(1)?);
    }
    let told: usize = fans.iter().filter(|fan| fan.booking.is_some()).count();
    let (missing, doubled_told) = fans_disagree(fans, &confirmed);
    audit.check(
        "what fans were told matches the database",
        missing == 0 && doubled_told == 0,
        format!(
            "{told} fans told they booked; {missing} of their seats not confirmed as theirs; {doubled_told} seats told to two fans"
        ),
    );

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

    let judged: Vec<&FanRecord> = fans
        .iter()
        .filter(|fan| fan.ticket.is_some_and(|t| t > lottery) && fan.admitted_unix_ms.is_some())
        .collect();
    let unverified = fans
        .iter()
        .filter(|fan| fan.admitted_seen_ms.is_some() && fan.admitted_unix_ms.is_none())
        .count();
    let by_ticket: Vec<(i64, f64)> = judged
        .iter()
        .filter_map(|fan| Some((fan.ticket?, fan.admitted_unix_ms?)))
        .collect();
    let by_clock: Vec<(f64, f64, f64)> = judged
        .iter()
        .filter_map(|fan| Some((fan.join_start_ms?, fan.join_done_ms?, fan.admitted_unix_ms?)))
        .collect();
    let ticket_inv = ticket_inversions(&by_ticket);
    let causal_inv = causal_inversions(&by_clock);
    audit.check(
        "zero admission-order inversions (FIFO phase)",
        ticket_inv == 0 && causal_inv == 0,
        format!(
            "{} admitted fans judged; {ticket_inv} inversions by ticket number, {causal_inv} by join order on the fans' clocks; {unverified} admissions seen without a record to time them",
            judged.len()
        ),
    );
    Ok(audit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admission_in_ticket_order_has_no_inversions() {
        let fans = vec![(1, 100.0), (2, 100.0), (3, 250.0), (4, 300.0)];

        assert_eq!(ticket_inversions(&fans), 0);
    }

    #[test]
    fn each_pair_out_of_order_counts_once() {
        // Ticket 1 admitted after tickets 2, 3 and 4: three inversions; 4 before 3: one more.
        let fans = vec![(3, 300.0), (1, 400.0), (2, 200.0), (4, 250.0)];

        assert_eq!(ticket_inversions(&fans), 4);
    }

    #[test]
    fn ties_in_admission_time_are_never_inversions() {
        let fans = vec![(5, 10.0), (1, 10.0), (3, 10.0)];

        assert_eq!(ticket_inversions(&fans), 0);
    }

    #[test]
    fn overlapping_joins_cannot_be_inverted_on_the_fans_clocks() {
        // b's join started before a's answered: no order between them is promised.
        let fans = vec![(0.0, 10.0, 500.0), (5.0, 12.0, 400.0)];

        assert_eq!(causal_inversions(&fans), 0);
    }

    #[test]
    fn a_fan_who_joined_first_and_got_in_later_is_an_inversion() {
        let fans = vec![
            (0.0, 10.0, 500.0),  // a: done at 10, admitted 500
            (20.0, 30.0, 400.0), // b: sent at 20 (after a answered), admitted 400
            (40.0, 50.0, 600.0), // c: fine
        ];

        assert_eq!(causal_inversions(&fans), 1);
    }

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
    fn fans_told_the_same_seat_are_caught() {
        let fan = |booking: &str, seats: Vec<i64>| FanRecord {
            booking: Some(booking.to_owned()),
            seats,
            ..FanRecord::default()
        };
        let fans = vec![
            fan("b1", vec![1, 2]),
            fan("b2", vec![2]),
            fan("b3", vec![9]),
        ];
        let confirmed: HashMap<String, Vec<i64>> =
            [("b1".to_owned(), vec![1, 2]), ("b2".to_owned(), vec![2])]
                .into_iter()
                .collect();

        // Seat 9 is not confirmed as b3's; seat 2 was told to two fans.
        assert_eq!(fans_disagree(&fans, &confirmed), (1, 1));
    }
}
