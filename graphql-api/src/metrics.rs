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
    PathSegment, Response, ServerResult, Variables,
    extensions::{
        Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery, NextSubscribe,
    },
    parser::types::{ExecutableDocument, OperationDefinition, Selection},
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
    /// Admission limits in force per event (`rate` per second, `capacity` shoppers), the
    /// rate achieved lately (`achieved`) and the ETA's forecast pace (`eta_slow`,
    /// `eta_likely`, `eta_fast`), read when scraped.
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
                "An event's admission limits in force, the rate achieved and the ETA's forecast pace",
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
        Arc::new(MeteredExtension {
            schema: self.0,
            ..MeteredExtension::default()
        })
    }
}

/// An operation's name and its root fields as (name, response key).
type Operation = (Option<String>, Vec<(String, String)>);

#[derive(Default)]
struct MeteredExtension {
    schema: &'static str,
    /// Each operation of the document (by name) and its root fields as (name, response key).
    operations: std::sync::OnceLock<Vec<Operation>>,
}

/// Decrements a subscription's gauge when its stream ends or is dropped.
struct Open(prometheus::IntGauge);

impl Drop for Open {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// The root fields of each operation of a document, as (name, response key).
fn root_fields(document: &ExecutableDocument) -> Vec<Operation> {
    let fields = |operation: &OperationDefinition| -> Vec<(String, String)> {
        operation
            .selection_set
            .node
            .items
            .iter()
            .filter_map(|item| match &item.node {
                Selection::Field(field) => Some((
                    field.node.name.node.to_string(),
                    field.node.response_key().node.to_string(),
                )),
                _ => None,
            })
            .collect()
    };
    document
        .operations
        .iter()
        .map(|(name, operation)| (name.map(|name| name.to_string()), fields(&operation.node)))
        .collect()
}

// One hook per request, not per field: a `resolve` hook would run for every field of every
// answer (measured: with it the seat rush answered BUSY 7,759 times, without it 1,498).
#[async_trait::async_trait]
impl Extension for MeteredExtension {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        let _ = self.operations.set(root_fields(&document));
        Ok(document)
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let started = Instant::now();
        let response = next.run(ctx, operation_name).await;
        let elapsed = started.elapsed().as_secs_f64();
        let Some(operations) = self.operations.get() else {
            return response;
        };
        // Validation has passed: the operation exists and its fields are the schema's.
        let fields = match operation_name {
            Some(wanted) => operations
                .iter()
                .find(|(name, _)| name.as_deref() == Some(wanted)),
            None => operations.first(),
        };
        let Some((_, fields)) = fields else {
            return response;
        };
        for (field, key) in fields {
            // A field's error has its response key (alias or name) first in its path; codes
            // are assigned to the whole answer later, but an error keeps its `ApiError`.
            let outcome = response
                .errors
                .iter()
                .find(|error| {
                    error.path.is_empty()
                        || matches!(error.path.first(), Some(PathSegment::Field(first)) if first == key)
                })
                .map_or("ok", |error| {
                    error
                        .source::<crate::error::ApiError>()
                        .map_or("BAD_USER_INPUT", |api_error| api_error.code().as_str())
                });
            METRICS
                .latency
                .with_label_values(&[self.schema, field])
                .observe(elapsed);
            METRICS
                .operations
                .with_label_values(&[self.schema, field, outcome])
                .inc();
        }
        response
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
