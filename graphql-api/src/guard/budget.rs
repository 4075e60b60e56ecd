//! The WebSocket's operation budget, spent by the guard for each operation on a socket.

use std::sync::Arc;

use crate::error::ApiError;

/// A WebSocket's budget of operations (`WS_OPERATIONS_PER_SEC`, bursts of twice that): the
/// gateway's rate limits count HTTP requests, and a socket, once open, is one request.
#[derive(Clone)]
pub struct SocketBudget {
    limiter: Arc<governor::DefaultDirectRateLimiter>,
}

impl std::fmt::Debug for SocketBudget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SocketBudget").finish_non_exhaustive()
    }
}

impl SocketBudget {
    /// A budget of `per_second` operations (0: unlimited, `None`).
    pub fn new(per_second: u32) -> Option<Self> {
        let rate = std::num::NonZeroU32::new(per_second)?;
        let burst = std::num::NonZeroU32::new(per_second.saturating_mul(2))?;
        let quota = governor::Quota::per_second(rate).allow_burst(burst);
        Some(Self {
            limiter: Arc::new(governor::RateLimiter::direct(quota)),
        })
    }

    /// Spends one operation, or says how long to wait.
    pub fn spend(&self) -> Result<(), ApiError> {
        self.limiter.check().map_err(|not_until| {
            use governor::clock::Clock as _;
            let wait = not_until.wait_time_from(governor::clock::DefaultClock::default().now());
            ApiError::RateLimited {
                retry_after_ms: u64::try_from(wait.as_millis()).unwrap_or(u64::MAX).max(1),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_socket_budget_refuses_past_its_burst_with_a_wait() {
        let budget = SocketBudget::new(2).expect("a budget");
        let spent = (0..10).filter(|_| budget.spend().is_ok()).count();
        assert_eq!(spent, 4);
        match budget.spend() {
            Err(ApiError::RateLimited { retry_after_ms }) => assert!(retry_after_ms >= 1),
            other => panic!("expected RATE_LIMITED, got {other:?}"),
        }
        assert!(SocketBudget::new(0).is_none());
    }
}
