//! Seats as a fan's client sees them on the map, and how a party picks theirs.

use std::collections::HashSet;

use rand::Rng as _;
use rand_chacha::ChaCha8Rng;
use serde_json::Value;

/// Seats as a fan's client sees them on the map.
#[derive(Clone, Debug, Default)]
pub struct SeatView {
    /// Seat ids in map order, with their run.
    pub seats: Vec<(i64, u32)>,
    /// `true` when the map showed the seat available.
    pub free: Vec<bool>,
}

impl SeatView {
    /// Reads a `seatMap` answer.
    pub fn from_map(map: &Value) -> Self {
        let mut view = Self::default();
        let status = map["status"].as_str().unwrap_or_default().as_bytes();
        for (r, run) in map["runs"].as_array().into_iter().flatten().enumerate() {
            let first: i64 = run["firstSeatId"]
                .as_str()
                .and_then(|id| id.parse().ok())
                .unwrap_or(0);
            for k in 0..run["count"].as_i64().unwrap_or(0) {
                view.seats.push((first + k, r as u32));
            }
        }
        view.free = (0..view.seats.len())
            .map(|i| status.get(i) == Some(&b'A'))
            .collect();
        view
    }

    /// Seats still believed free.
    pub fn free_count(&self, taken: &HashSet<i64>) -> usize {
        self.seats
            .iter()
            .zip(&self.free)
            .filter(|((id, _), free)| **free && !taken.contains(id))
            .count()
    }

    /// `k` seats side by side in one run if any, from a random place; else any `k` free seats.
    pub fn choose(&self, k: usize, taken: &HashSet<i64>, rng: &mut ChaCha8Rng) -> Option<Vec<i64>> {
        let n = self.seats.len();
        if n == 0 || k == 0 {
            return None;
        }
        let ok = |i: usize| self.free[i] && !taken.contains(&self.seats[i].0);
        let start = rng.random_range(0..n);
        for step in 0..n {
            let i = (start + step) % n;
            if i + k > n {
                continue;
            }
            let run = self.seats[i].1;
            if (i..i + k).all(|j| ok(j) && self.seats[j].1 == run) {
                return Some((i..i + k).map(|j| self.seats[j].0).collect());
            }
        }
        let scattered: Vec<i64> = (0..n)
            .map(|step| (start + step) % n)
            .filter(|i| ok(*i))
            .take(k)
            .map(|i| self.seats[i].0)
            .collect();
        (scattered.len() == k).then_some(scattered)
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng as _;
    use serde_json::json;

    use super::*;

    fn map() -> Value {
        json!({
            "runs": [
                { "firstSeatId": "100", "count": 4 },
                { "firstSeatId": "200", "count": 3 }
            ],
            "status": "AHAAAAB"
        })
    }

    #[test]
    fn the_seat_map_reads_into_seats_and_states() {
        let view = SeatView::from_map(&map());

        assert_eq!(view.seats.len(), 7);
        assert_eq!(view.seats[4], (200, 1));
        assert_eq!(view.free, vec![true, false, true, true, true, true, false]);
        assert_eq!(view.free_count(&HashSet::new()), 5);
    }

    #[test]
    fn a_party_gets_seats_side_by_side_in_one_run() {
        let view = SeatView::from_map(&map());
        let mut rng = ChaCha8Rng::seed_from_u64(3);

        for _ in 0..20 {
            let seats = view.choose(2, &HashSet::new(), &mut rng).expect("seats");
            assert!(
                seats == vec![102, 103] || seats == vec![200, 201],
                "{seats:?}"
            );
        }
    }

    #[test]
    fn taken_seats_are_avoided_and_scattered_seats_are_the_fallback() {
        let view = SeatView::from_map(&map());
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let taken: HashSet<i64> = [103, 201].into_iter().collect();

        let seats = view.choose(2, &taken, &mut rng).expect("scattered seats");

        assert_eq!(seats.len(), 2);
        assert!(seats.iter().all(|s| [100, 102, 200].contains(s)));
        assert_eq!(view.choose(4, &taken, &mut rng), None);
    }
}
