//! Admission order: nobody was let in out of turn.
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

use super::Audit;
use crate::metrics::FanRecord;

/// Zero inversions by ticket and by the fans' clocks among FIFO fans (tickets past the lottery's ranks).
pub(super) fn in_turn(audit: &mut Audit, fans: &[FanRecord], lottery: i64) {
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
/// How a visit ends when the queue stopped knowing a fan who had joined: a lost place.
pub const LOST_PLACE: &str = "not_in_queue";

/// No fan who joined was told later that the queue does not know them (a place lost, say,
/// to a Redis restart without its append-only file).
pub(super) fn kept_their_place(audit: &mut Audit, fans: &[FanRecord]) {
    let joined = fans.iter().filter(|fan| fan.ticket.is_some()).count();
    let lost = fans.iter().filter(|fan| fan.outcome == LOST_PLACE).count();
    audit.check(
        "every fan kept their place",
        lost == 0,
        format!("{joined} fans joined; {lost} were later told they were not in the queue"),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fan_told_not_in_queue_after_joining_lost_their_place() {
        let joined = |outcome: &str| FanRecord {
            ticket: Some(1),
            outcome: outcome.to_owned(),
            ..FanRecord::default()
        };
        let mut audit = Audit::default();
        kept_their_place(&mut audit, &[joined("booked"), joined("told_sold_out")]);
        kept_their_place(&mut audit, &[joined("booked"), joined(LOST_PLACE)]);

        assert!(audit.checks[0].passed, "{:?}", audit.checks[0]);
        assert!(!audit.checks[1].passed);
        assert!(audit.checks[1].detail.contains("2 fans joined; 1 were"));
    }

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
}
