//! Rate limits: per client IP on public routes, per admitted fan on sale routes (GCRA, from
//! `governor`). Per process: with several gateways, each enforces its own share.

use std::{net::IpAddr, num::NonZeroU32, sync::Arc, time::Duration};

use governor::{
    DefaultKeyedRateLimiter, Quota, RateLimiter,
    clock::{Clock, DefaultClock},
};

/// The rate limiters of one gateway process. Cheap to clone.
#[derive(Clone)]
pub struct Limits {
    inner: Arc<Inner>,
}

struct Inner {
    public: Option<DefaultKeyedRateLimiter<IpAddr>>,
    sale: Option<DefaultKeyedRateLimiter<String>>,
    clock: DefaultClock,
}

/// A request over its rate: retry after this long.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limited {
    /// Whole seconds to wait, at least 1 (the `Retry-After` header).
    pub retry_after_secs: u64,
}

impl Limits {
    /// Limiters for `public_rate`/`public_burst` per IP and `sale_rate`/`sale_burst` per fan;
    /// a rate of 0 turns that limit off.
    pub fn new(public_rate: u32, public_burst: u32, sale_rate: u32, sale_burst: u32) -> Self {
        Self {
            inner: Arc::new(Inner {
                public: quota(public_rate, public_burst).map(RateLimiter::keyed),
                sale: quota(sale_rate, sale_burst).map(RateLimiter::keyed),
                clock: DefaultClock::default(),
            }),
        }
    }

    /// Counts one public request from `ip`.
    pub fn check_public(&self, ip: IpAddr) -> Result<(), Limited> {
        match &self.inner.public {
            Some(limiter) => self.verdict(limiter.check_key(&ip)),
            None => Ok(()),
        }
    }

    /// Counts one sale request from fan `user`.
    pub fn check_sale(&self, user: &str) -> Result<(), Limited> {
        match &self.inner.sale {
            // An owned key: governor's keyed state has no borrowed lookup.
            Some(limiter) => self.verdict(limiter.check_key(&user.to_owned())),
            None => Ok(()),
        }
    }

    fn verdict(
        &self,
        outcome: Result<(), governor::NotUntil<<DefaultClock as Clock>::Instant>>,
    ) -> Result<(), Limited> {
        outcome.map_err(|not_until| {
            let wait = not_until.wait_time_from(self.inner.clock.now());
            Limited {
                retry_after_secs: wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
            }
            .at_least_one()
        })
    }

    /// Forgets keys whose limits have fully recovered, so memory follows active clients.
    pub fn forget_idle(&self) {
        if let Some(limiter) = &self.inner.public {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
        if let Some(limiter) = &self.inner.sale {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }

    /// How often [`Self::forget_idle`] should run.
    pub const FORGET_EVERY: Duration = Duration::from_secs(10);
}

impl Limited {
    fn at_least_one(self) -> Self {
        Self {
            retry_after_secs: self.retry_after_secs.max(1),
        }
    }
}

fn quota(rate: u32, burst: u32) -> Option<Quota> {
    let rate = NonZeroU32::new(rate)?;
    let burst = NonZeroU32::new(burst).unwrap_or(rate);
    Some(Quota::per_second(rate).allow_burst(burst))
}

#[cfg(test)]
mod tests {
    use super::*;

    const IP: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    #[test]
    fn a_burst_passes_then_the_next_request_is_limited() {
        let limits = Limits::new(1, 3, 0, 0);

        for _ in 0..3 {
            assert_eq!(limits.check_public(IP), Ok(()));
        }
        let limited = limits.check_public(IP).expect_err("over the burst");
        assert!(limited.retry_after_secs >= 1);
    }

    #[test]
    fn each_ip_and_each_fan_has_its_own_allowance() {
        let limits = Limits::new(1, 1, 1, 1);
        let other = IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 2));

        assert!(limits.check_public(IP).is_ok());
        assert!(limits.check_public(IP).is_err());
        assert!(limits.check_public(other).is_ok());
        assert!(limits.check_sale("fan-a").is_ok());
        assert!(limits.check_sale("fan-a").is_err());
        assert!(limits.check_sale("fan-b").is_ok());
    }

    #[test]
    fn a_rate_of_zero_means_no_limit() {
        let limits = Limits::new(0, 0, 0, 0);

        for _ in 0..1_000 {
            assert!(limits.check_public(IP).is_ok());
            assert!(limits.check_sale("fan").is_ok());
        }
    }
}
