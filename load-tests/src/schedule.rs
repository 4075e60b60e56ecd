//! Open-model arrivals: when each fan arrives is fixed before the run from the rate, the
//! ramp and the seed, so a fan who is slow (or a load generator that falls behind) never
//! pushes the next arrival back. Lateness is measured instead (`schedule.lag`).
//!
//! The rate climbs linearly from 0 to `rate` over `ramp` seconds, then stays. Arrival `k`
//! is at `Λ⁻¹(x_k)`, where `Λ(t)` is the expected number of arrivals by `t` and `x_k` is `k`
//! (uniform) or a sum of `k + 1` unit exponentials (Poisson, by time rescaling).

use rand::{Rng as _, SeedableRng as _};
use rand_chacha::ChaCha8Rng;

use crate::config::ArrivalProcess;

/// The shape of the arrival rate over time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RateShape {
    /// Arrivals per second after the ramp.
    pub rate: f64,
    /// Seconds of linear climb from 0.
    pub ramp: f64,
}

impl RateShape {
    /// Expected arrivals by `t` seconds: `Λ(t)`.
    pub fn expected_by(&self, t: f64) -> f64 {
        if t <= 0.0 {
            return 0.0;
        }
        if self.ramp > 0.0 && t <= self.ramp {
            self.rate * t * t / (2.0 * self.ramp)
        } else {
            self.rate * self.ramp.max(0.0) / 2.0 + self.rate * (t - self.ramp.max(0.0))
        }
    }

    /// The time by which `x` arrivals are expected: `Λ⁻¹(x)`.
    pub fn time_of(&self, x: f64) -> f64 {
        let ramp = self.ramp.max(0.0);
        let in_ramp = self.rate * ramp / 2.0;
        if ramp > 0.0 && x <= in_ramp {
            (2.0 * ramp * x / self.rate).sqrt()
        } else {
            ramp + (x - in_ramp) / self.rate
        }
    }
}

/// Arrival offsets in seconds from the start, ascending, at most `fans` of them and all
/// before `duration`.
pub fn arrivals(
    shape: RateShape,
    fans: u32,
    duration: f64,
    process: ArrivalProcess,
    seed: u64,
) -> Vec<f64> {
    if shape.rate <= 0.0 || fans == 0 {
        return Vec::new();
    }
    // A stream of its own, so other random choices do not shift the arrivals.
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xA441_7A15);
    let mut out = Vec::with_capacity(fans as usize);
    let mut x = 0.0_f64;
    for k in 0..fans {
        x = match process {
            ArrivalProcess::Uniform => f64::from(k),
            ArrivalProcess::Poisson => {
                let u: f64 = rng.random_range(f64::EPSILON..1.0);
                if k == 0 { -u.ln() } else { x - u.ln() }
            }
        };
        let t = shape.time_of(x);
        if t >= duration {
            break;
        }
        out.push(t);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_arrivals_without_a_ramp_are_evenly_spaced() {
        let shape = RateShape {
            rate: 10.0,
            ramp: 0.0,
        };

        let times = arrivals(shape, 5, 100.0, ArrivalProcess::Uniform, 1);

        assert_eq!(times.len(), 5);
        for (k, t) in times.iter().enumerate() {
            assert!((t - k as f64 * 0.1).abs() < 1e-9, "{t}");
        }
    }

    #[test]
    fn the_duration_bounds_the_arrivals_as_well_as_the_count() {
        let shape = RateShape {
            rate: 100.0,
            ramp: 0.0,
        };

        let times = arrivals(shape, 1_000_000, 2.0, ArrivalProcess::Uniform, 1);

        assert_eq!(times.len(), 200);
        assert!(times.iter().all(|t| *t < 2.0));
    }

    #[test]
    fn a_linear_ramp_lets_in_half_the_full_rate_during_the_ramp() {
        let shape = RateShape {
            rate: 100.0,
            ramp: 10.0,
        };

        let times = arrivals(shape, 100_000, 20.0, ArrivalProcess::Uniform, 1);

        let in_ramp = times.iter().filter(|t| **t < 10.0).count();
        assert_eq!(in_ramp, 500);
        assert_eq!(times.len(), 1_500);
        // Gaps shrink during the ramp.
        assert!(times[2] - times[1] > times[400] - times[399]);
    }

    #[test]
    fn time_of_inverts_expected_by() {
        let shape = RateShape {
            rate: 37.0,
            ramp: 4.0,
        };
        for t in [0.5, 1.0, 3.9, 4.0, 7.5, 100.0] {
            let back = shape.time_of(shape.expected_by(t));
            assert!((back - t).abs() < 1e-9, "{t} -> {back}");
        }
    }

    #[test]
    fn poisson_arrivals_repeat_with_the_seed_and_keep_the_mean_rate() {
        let shape = RateShape {
            rate: 50.0,
            ramp: 0.0,
        };

        let a = arrivals(shape, 20_000, 1e9, ArrivalProcess::Poisson, 7);
        let b = arrivals(shape, 20_000, 1e9, ArrivalProcess::Poisson, 7);
        let c = arrivals(shape, 20_000, 1e9, ArrivalProcess::Poisson, 8);

        assert_eq!(a, b);
        assert_ne!(a, c);
        let mean_rate = a.len() as f64 / a[a.len() - 1];
        assert!((mean_rate - 50.0).abs() < 1.5, "{mean_rate}");
        assert!(a.windows(2).all(|w| w[0] <= w[1]));
    }
}
