//! What one fan does, step by step: sign up, join the queue, wait (subscribed or polling),
//! learn of the admission, choose seats from the map, hold, book and pay (or not).
//!
//! Every step is a real request through the target and is timed; codes that are part of
//! normal life in a rush (`SEAT_TAKEN`, a deliberately declined card) are expected
//! outcomes, not errors.
//!
//! - `account`: sign-up and sign-in, for fans and for the admin.
//! - `queue`: join, wait for the turn, learn of the admission, leave.
//! - `subscription`: the wait on a `queuePosition` subscription.
//! - `buy`: seats from the map, hold, book, pay as planned.
//! - `seats`, `payment`: the choices a fan makes along the way.
//! - `journey`: the pages only the `journey` scenario reads.

mod account;
mod buy;
mod event;
mod journey;
pub mod ops;
mod payment;
mod queue;
mod seats;
mod subscription;

use std::{sync::Arc, time::Duration};

use rand::Rng as _;
use rand_chacha::ChaCha8Rng;
use serde_json::Value;

pub use account::{Account, PASSWORD, admin_session, email, sign_up};
pub use event::EventInfo;
pub use payment::{PayPlan, draw_plan, parse_pay_mix, payment_details};
pub use queue::{Admission, Patience, join_until_admitted, token_lifetime_secs};
pub use seats::SeatView;

use crate::{
    config::{BuyArgs, WaitArgs},
    http::{ApiError, Http},
    metrics::{FanRecord, Recorder},
    system::Store,
};

/// What every fan of a process shares.
pub struct Env {
    pub http: Http,
    pub recorder: Arc<Recorder>,
    /// WebSocket bases, dealt round-robin to subscribing fans.
    pub ws_targets: Vec<String>,
    /// How many 127.0.0.x addresses connections are spread over.
    pub source_ips: u8,
    pub event: EventInfo,
    /// The system's stores, to read when Redis admitted each fan.
    pub store: Option<Store>,
    pub wait: WaitArgs,
    /// How fans buy; `None` in `queue-rush`, where nobody buys.
    pub buy: Option<BuyArgs>,
    pub pay_mix: Vec<(PayPlan, u32)>,
    /// Mean dwell of an admitted fan in `queue-rush`, ms.
    pub dwell_ms: f64,
    /// Mean think time on public pages in `journey`, ms.
    pub browse_think_ms: f64,
    /// No fan step starts after this.
    pub deadline: tokio::time::Instant,
}

/// One fan on their way.
pub struct Fan<'a> {
    pub env: &'a Env,
    /// The fan's index in the run: picks the source address and seeds the choices.
    pub n: usize,
    pub rng: ChaCha8Rng,
    /// Signed in before the rush, or inside the journey; `None` until then.
    pub account: Option<Account>,
    /// What the fan did, for the audit and the per-fan timings.
    pub record: FanRecord,
    /// The event's seat runs from its layout file, fetched once per fan (as a browser keeps
    /// it); states then come from `seatStates`.
    pub layout: Option<std::sync::Arc<Value>>,
}

/// An exponential think time with the given mean, capped at 10x.
pub fn think(rng: &mut ChaCha8Rng, mean_ms: f64) -> Duration {
    if mean_ms <= 0.0 {
        return Duration::ZERO;
    }
    let u: f64 = rng.random_range(f64::EPSILON..1.0);
    Duration::from_secs_f64((-u.ln() * mean_ms).min(mean_ms * 10.0) / 1e3)
}

impl Fan<'_> {
    fn now_ms(&self) -> f64 {
        self.env.recorder.now_ms()
    }

    fn count(&self, name: &str) {
        self.env.recorder.count(name, 1);
    }

    /// Ends the visit with `outcome`: the fan's record and the outcome counters say how.
    fn end(&mut self, outcome: &str) {
        self.record.outcome = outcome.to_owned();
        self.count(&format!("outcome.{outcome}"));
    }

    fn access(&self) -> Option<&str> {
        self.account.as_ref().map(|a| a.access_token.as_str())
    }

    /// A request to the public schema, signed in as this fan when they have an account.
    async fn public(
        &self,
        op: &str,
        query: &str,
        vars: Value,
        expected: &[&str],
    ) -> Result<Value, ApiError> {
        self.env
            .http
            .gql(self.n, op, "/graphql", query, vars, self.access(), expected)
            .await
    }

    /// A request to the event's sale path, admitted with `admission`'s token.
    async fn sale(
        &self,
        admission: &Admission,
        op: &str,
        query: &str,
        vars: Value,
        expected: &[&str],
    ) -> Result<Value, ApiError> {
        self.env
            .http
            .gql(
                self.n,
                op,
                &self.env.event.sale_path,
                query,
                vars,
                Some(&admission.token),
                expected,
            )
            .await
    }

    /// Thinks for a while, never past the deadline.
    async fn pause(&mut self, mean_ms: f64) {
        let wait = think(&mut self.rng, mean_ms);
        tokio::time::sleep_until((tokio::time::Instant::now() + wait).min(self.env.deadline)).await;
    }

    /// Ends the visit with `outcome`, then leaves the queue so the slot goes to the next fan.
    async fn end_and_leave(&mut self, outcome: &str) {
        self.end(outcome);
        self.leave().await;
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng as _;

    use super::*;

    #[test]
    fn think_times_have_the_asked_mean() {
        let mut rng = ChaCha8Rng::seed_from_u64(9);

        let total: f64 = (0..10_000)
            .map(|_| think(&mut rng, 100.0).as_secs_f64())
            .sum();

        assert!((total / 10_000.0 - 0.1).abs() < 0.01);
        assert_eq!(think(&mut rng, 0.0), Duration::ZERO);
    }
}
