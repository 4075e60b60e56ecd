//! Prometheus metrics, served as text at the gateway's own `/metrics`.
//!
//! Counters for the hot path are resolved once at start (one per route kind and outcome), so
//! counting a request is an atomic add, not a label lookup.

use std::sync::Arc;

use prometheus::{
    Encoder as _, Gauge, GaugeVec, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};

use crate::{error::Code, routes::Route};

/// How a request ended, as the `outcome` label.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Forwarded to the API (whatever the API answered).
    Proxied,
    /// Answered by the gateway itself (`/healthz`, `/metrics`).
    Served,
    /// A CORS preflight, answered by the gateway itself (whether its origin was allowed or not).
    Preflight,
    /// Refused or failed with this code.
    Refused(Code),
    /// The client went away or sent something unreadable.
    ClientError,
}

impl Outcome {
    const FIXED: [&'static str; 4] = ["proxied", "served", "preflight", "client_error"];

    fn index(self) -> usize {
        match self {
            Outcome::Proxied => 0,
            Outcome::Served => 1,
            Outcome::Preflight => 2,
            Outcome::ClientError => 3,
            Outcome::Refused(code) => {
                Self::FIXED.len()
                    + Code::ALL
                        .iter()
                        .position(|c| *c == code)
                        .unwrap_or_default()
            }
        }
    }

    /// The label value.
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Refused(code) => code.as_str(),
            _ => Self::FIXED[self.index()],
        }
    }
}

const ROUTES: [&str; 3] = ["public", "sale", "ops"];

fn route_index(route: Route) -> usize {
    match route.label() {
        "public" => 0,
        "sale" => 1,
        _ => 2,
    }
}

/// Handles to every metric. Cheap to clone.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
    /// Admission-record lookups answered from the in-process cache.
    pub token_cache_hits: IntCounter,
    /// Admission-record lookups that had to go to Redis.
    pub token_cache_misses: IntCounter,
    /// Admission tokens whose signature was already checked (see [`crate::verified`]).
    pub verified_token_hits: IntCounter,
    /// Admission tokens whose signature had to be checked.
    pub verified_token_misses: IntCounter,
    /// Redis reads that failed or timed out (each failed a sale request closed).
    pub redis_errors: IntCounter,
    /// Client connections open now.
    pub connections_active: IntGauge,
    /// Client connections refused at `max_connections`.
    pub connections_refused: IntCounter,
}

struct Inner {
    registry: Registry,
    /// `[route][outcome]`.
    requests: Vec<Vec<IntCounter>>,
    /// `[route]`.
    latency: Vec<Histogram>,
    token_cache_hit_ratio: Gauge,
    upstream_healthy: IntGaugeVec,
    /// Per event: `[rate, capacity, achieved rate, pinned]`, as the API's autopilot left them.
    admission: [GaugeVec; 4],
}

/// An event's admission limits as read from Redis at a scrape (absent: never set there).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct EventAdmission {
    pub rate: Option<f64>,
    pub capacity: Option<f64>,
    pub achieved_rate: Option<f64>,
    pub pinned: bool,
}

impl Metrics {
    /// Registers every metric.
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "gateway_requests_total",
                "Requests by route kind and outcome (proxied, served, preflight, client_error, \
                 or a refusal code).",
            ),
            &["route", "outcome"],
        )?;
        registry.register(Box::new(requests.clone()))?;
        let latency = prometheus::HistogramVec::new(
            HistogramOpts::new(
                "gateway_request_duration_seconds",
                "Time from request headers read to response finished, by route kind.",
            )
            .buckets(vec![
                0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                0.5, 1.0, 2.5, 5.0, 10.0,
            ]),
            &["route"],
        )?;
        registry.register(Box::new(latency.clone()))?;
        let counter = |name: &str, help: &str| -> Result<IntCounter, prometheus::Error> {
            let counter = IntCounter::new(name, help)?;
            registry.register(Box::new(counter.clone()))?;
            Ok(counter)
        };
        let token_cache_hits = counter(
            "gateway_token_cache_hits_total",
            "Admission-record lookups answered from the in-process cache.",
        )?;
        let token_cache_misses = counter(
            "gateway_token_cache_misses_total",
            "Admission-record lookups that went to Redis.",
        )?;
        let verified_token_hits = counter(
            "gateway_verified_token_hits_total",
            "Admission tokens whose signature had already been checked (remembered).",
        )?;
        let verified_token_misses = counter(
            "gateway_verified_token_misses_total",
            "Admission tokens whose signature was checked (first use, or refused).",
        )?;
        let redis_errors = counter(
            "gateway_redis_errors_total",
            "Redis reads that failed or timed out (the sale request failed closed).",
        )?;
        let connections_refused = counter(
            "gateway_connections_refused_total",
            "Client connections refused at max_connections.",
        )?;
        let connections_active =
            IntGauge::new("gateway_connections_active", "Client connections open now.")?;
        registry.register(Box::new(connections_active.clone()))?;
        let token_cache_hit_ratio = Gauge::new(
            "gateway_token_cache_hit_ratio",
            "Share of admission-record lookups answered from the cache since start.",
        )?;
        registry.register(Box::new(token_cache_hit_ratio.clone()))?;
        let upstream_healthy = IntGaugeVec::new(
            Opts::new(
                "gateway_upstream_healthy",
                "1 while an API instance passes its health check, else 0.",
            ),
            &["upstream"],
        )?;
        registry.register(Box::new(upstream_healthy.clone()))?;
        let event_gauge = |name: &str, help: &str| -> Result<GaugeVec, prometheus::Error> {
            let gauge = GaugeVec::new(Opts::new(name, help), &["event"])?;
            registry.register(Box::new(gauge.clone()))?;
            Ok(gauge)
        };
        let admission = [
            event_gauge(
                "gateway_event_admission_rate",
                "Fans let in per second at most, as in force (set by the API's autopilot or an \
                 admin), per event the gateway served lately.",
            )?,
            event_gauge(
                "gateway_event_admission_capacity",
                "Fans admitted at once at most (shoppers), as in force, per event.",
            )?,
            event_gauge(
                "gateway_event_admission_achieved_rate",
                "Fans actually let in per second lately (smoothed), per event.",
            )?,
            event_gauge(
                "gateway_event_autopilot_pinned",
                "1 while an admin pinned the event's admission limits, 0 while the autopilot \
                 steers them.",
            )?,
        ];

        let outcomes: Vec<&str> = Outcome::FIXED
            .into_iter()
            .chain(Code::ALL.iter().map(|code| code.as_str()))
            .collect();
        let requests = ROUTES
            .iter()
            .map(|route| {
                outcomes
                    .iter()
                    .map(|outcome| requests.with_label_values(&[route, outcome]))
                    .collect()
            })
            .collect();
        let latency = ROUTES
            .iter()
            .map(|route| latency.with_label_values(&[route]))
            .collect();
        Ok(Self {
            inner: Arc::new(Inner {
                registry,
                requests,
                latency,
                token_cache_hit_ratio,
                upstream_healthy,
                admission,
            }),
            token_cache_hits,
            token_cache_misses,
            verified_token_hits,
            verified_token_misses,
            redis_errors,
            connections_active,
            connections_refused,
        })
    }

    /// Counts one finished request.
    pub fn record(&self, route: Route, outcome: Outcome, seconds: f64) {
        let route = route_index(route);
        self.inner.requests[route][outcome.index()].inc();
        self.inner.latency[route].observe(seconds);
    }

    /// Sets an upstream's health gauge.
    pub fn set_upstream_health(&self, upstream: &str, healthy: bool) {
        self.inner
            .upstream_healthy
            .with_label_values(&[upstream])
            .set(i64::from(healthy));
    }

    /// Replaces the per-event admission gauges with `events` (events not in it disappear).
    pub fn set_event_admission(&self, events: &[(i64, EventAdmission)]) {
        for gauge in &self.inner.admission {
            gauge.reset();
        }
        for (event, admission) in events {
            let label = event.to_string();
            let values = [
                admission.rate,
                admission.capacity,
                admission.achieved_rate,
                Some(if admission.pinned { 1.0 } else { 0.0 }),
            ];
            for (gauge, value) in self.inner.admission.iter().zip(values) {
                if let Some(value) = value {
                    gauge.with_label_values(&[label.as_str()]).set(value);
                }
            }
        }
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let hits = self.token_cache_hits.get() as f64;
        let total = hits + self.token_cache_misses.get() as f64;
        self.inner
            .token_cache_hit_ratio
            .set(if total > 0.0 { hits / total } else { 0.0 });
        let mut out = Vec::with_capacity(8 * 1024);
        // Encoding into memory cannot fail on I/O; a malformed family would be our bug.
        if let Err(error) = TextEncoder::new().encode(&self.inner.registry.gather(), &mut out) {
            tracing::error!(%error, "encoding metrics failed");
        }
        String::from_utf8(out).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_counted_by_route_and_outcome() {
        let metrics = Metrics::new().expect("metrics");

        metrics.record(
            Route::Sale { event: 1 },
            Outcome::Refused(Code::TokenExpired),
            0.001,
        );
        metrics.record(Route::Public, Outcome::Proxied, 0.002);
        metrics.token_cache_hits.inc();
        metrics.token_cache_misses.inc();
        metrics.set_upstream_health("127.0.0.1:1", true);
        let text = metrics.render();

        assert!(text.contains(r#"gateway_requests_total{outcome="TOKEN_EXPIRED",route="sale"} 1"#));
        assert!(text.contains(r#"gateway_requests_total{outcome="proxied",route="public"} 1"#));
        assert!(text.contains("gateway_token_cache_hit_ratio 0.5"));
        assert!(text.contains(r#"gateway_upstream_healthy{upstream="127.0.0.1:1"} 1"#));
        assert!(text.contains("gateway_request_duration_seconds_bucket"));
    }

    #[test]
    fn every_outcome_has_its_own_label() {
        let labels: std::collections::HashSet<_> = [
            Outcome::Proxied,
            Outcome::Served,
            Outcome::Preflight,
            Outcome::ClientError,
        ]
        .into_iter()
        .chain(Code::ALL.into_iter().map(Outcome::Refused))
        .map(Outcome::label)
        .collect();

        assert_eq!(labels.len(), Outcome::FIXED.len() + Code::ALL.len());
    }
}
