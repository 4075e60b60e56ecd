//! Prometheus metrics of the API, served as text at `/metrics` on the API's own port.
//!
//! Every GraphQL operation is counted and timed by its root field (a field of the schema, so
//! the labels are bounded whatever clients send) and its outcome (`ok` or the error code):
//! holds are `lockSeats` answered `ok`, declined payments `confirmPayment` answered
//! `PAYMENT_DECLINED`, and so on. Open subscriptions are a gauge per schema. What lives
//! elsewhere (queue lengths, the pool, the autopilot's limits) is read when scraped; see
//! [`Gauges`].

use std::{
    sync::{Arc, LazyLock},
    time::Instant,
};

use async_graphql::{
    Response, ServerResult, Value,
    extensions::{
        Extension, ExtensionContext, ExtensionFactory, NextExecute, NextResolve, NextSubscribe,
        ResolveInfo,
    },
};
use futures_util::{StreamExt as _, stream::BoxStream};
use prometheus::{
    Encoder as _, GaugeVec, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

/// The process's metrics (one registry: tests run one process each).
pub static METRICS: LazyLock<ApiMetrics> = LazyLock::new(ApiMetrics::new);

/// Handles to every metric of the API.
pub struct ApiMetrics {
    registry: Registry,
    /// GraphQL root fields answered, by schema, field and outcome (`ok` or an error code).
    pub operations: IntCounterVec,
    /// Seconds a root field took to resolve, by schema and field.
    pub latency: HistogramVec,
    /// Subscriptions open now, by schema (`public`: queue positions, `sale`: seat changes).
    pub subscriptions: IntGaugeVec,
    /// Fans per event and state (`waiting`, `presale`, `admitted`), read when scraped.
    pub queue_fans: IntGaugeVec,
    /// Fans admitted since the sale opened, per event, read when scraped.
    pub queue_admitted: IntGaugeVec,
    /// Admission limits in force per event (`rate` per second, `capacity` shoppers) and the
    /// rate achieved lately (`achieved`), read when scraped.
    pub queue_limits: GaugeVec,
    /// Postgres connections of this instance's pool (`in_use`, `idle`, `max`).
    pub pool: IntGaugeVec,
}

impl ApiMetrics {
    fn new() -> Self {
        let registry = Registry::new();
        let operations = IntCounterVec::new(
            Opts::new(
                "api_graphql_operations_total",
                "GraphQL root fields answered, by schema, field and outcome",
            ),
            &["schema", "field", "outcome"],
        )
        .expect("a valid metric");
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "api_graphql_field_seconds",
                "Seconds a GraphQL root field took to resolve",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ]),
            &["schema", "field"],
        )
        .expect("a valid metric");
        let subscriptions = IntGaugeVec::new(
            Opts::new(
                "api_subscriptions_open",
                "GraphQL subscriptions open, by schema",
            ),
            &["schema"],
        )
        .expect("a valid metric");
        // Zero rather than absent before the first subscription: a chart starts at 0.
        for schema in ["public", "sale"] {
            subscriptions.with_label_values(&[schema]).set(0);
        }
        let queue_fans = IntGaugeVec::new(
            Opts::new("api_queue_fans", "Fans in an event's queue, by state"),
            &["event", "state"],
        )
        .expect("a valid metric");
        let queue_admitted = IntGaugeVec::new(
            Opts::new(
                "api_queue_admitted_total",
                "Fans admitted from an event's queue since its sale opened",
            ),
            &["event"],
        )
        .expect("a valid metric");
        let queue_limits = GaugeVec::new(
            Opts::new(
                "api_queue_admission",
                "An event's admission limits in force and the rate achieved",
            ),
            &["event", "measure"],
        )
        .expect("a valid metric");
        let pool = IntGaugeVec::new(
            Opts::new(
                "api_db_pool_connections",
                "Postgres pool connections, by state",
            ),
            &["state"],
        )
        .expect("a valid metric");
        for metric in [
            Box::new(operations.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(latency.clone()),
            Box::new(subscriptions.clone()),
            Box::new(queue_fans.clone()),
            Box::new(queue_admitted.clone()),
            Box::new(queue_limits.clone()),
            Box::new(pool.clone()),
        ] {
            registry
                .register(metric)
                .expect("metrics are registered once");
        }
        Self {
            registry,
            operations,
            latency,
            subscriptions,
            queue_fans,
            queue_admitted,
            queue_limits,
            pool,
        }
    }

    /// The text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        // Encoding into a Vec fails only on a metric with an invalid name, fixed at start.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        String::from_utf8(out).unwrap_or_default()
    }
}

/// Counts and times each root field of a schema (`public` or `sale`).
pub struct Metered(pub &'static str);

impl ExtensionFactory for Metered {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(MeteredExtension { schema: self.0 })
    }
}

struct MeteredExtension {
    schema: &'static str,
}

/// Decrements a subscription's gauge when its stream ends or is dropped.
struct Open(prometheus::IntGauge);

impl Drop for Open {
    fn drop(&mut self) {
        self.0.dec();
    }
}

#[async_trait::async_trait]
impl Extension for MeteredExtension {
    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        // Only root fields: nested fields are part of their root's time.
        if info.path_node.parent.is_some() || info.parent_type == "Subscription" {
            return next.run(ctx, info).await;
        }
        let field = info.name;
        let started = Instant::now();
        let result = next.run(ctx, info).await;
        let outcome = match &result {
            Ok(_) => "ok",
            // Codes are assigned to the whole answer later; a resolver's error carries the
            // `ApiError` it came from (anything else is refused input: BAD_USER_INPUT).
            Err(error) => error
                .source::<crate::error::ApiError>()
                .map_or("BAD_USER_INPUT", |api_error| api_error.code().as_str()),
        };
        METRICS
            .latency
            .with_label_values(&[self.schema, field])
            .observe(started.elapsed().as_secs_f64());
        METRICS
            .operations
            .with_label_values(&[self.schema, field, outcome])
            .inc();
        result
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        next.run(ctx, operation_name).await
    }

    fn subscribe<'s>(
        &self,
        ctx: &ExtensionContext<'_>,
        stream: BoxStream<'s, Response>,
        next: NextSubscribe<'_>,
    ) -> BoxStream<'s, Response> {
        let gauge = METRICS.subscriptions.with_label_values(&[self.schema]);
        gauge.inc();
        let open = Open(gauge);
        next.run(ctx, stream)
            .map(move |response| {
                let _ = &open;
                response
            })
            .boxed()
    }
}
