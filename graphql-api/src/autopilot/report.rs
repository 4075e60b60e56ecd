//! Each instance's part: the sale schema's hook that records every answer (latency of
//! mutations, `BUSY` or not, the pool in use) and the loop that writes each window to Redis.

use std::{
    sync::{
        Arc, OnceLock,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use async_graphql::{
    Response, ServerError, ServerResult, Variables,
    extensions::{
        Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery, NextRequest,
    },
    parser::types::{ExecutableDocument, OperationType},
};
use chrono::Utc;
use sea_orm::DatabaseConnection;
use tokio::sync::watch;

use crate::{
    autopilot::fresh_for_ms,
    error::{ApiError, ApiResult, ErrorCode, carries_code},
    queue_store::autopilot as store,
    sale_health::{HealthReport, SaleHealth},
    state::AppState,
};

/// Pooled Postgres connections in use now (the API only ever connects to Postgres, so the
/// pool is always there to read).
fn pool_in_use(db: &DatabaseConnection) -> u32 {
    let pool = db.get_postgres_connection_pool();
    pool.size()
        .saturating_sub(u32::try_from(pool.num_idle()).unwrap_or(u32::MAX))
}

/// Closes this instance's window at `now_ms` and writes it to Redis; returns what it wrote.
pub async fn report_now(state: &AppState, instance: &str, now_ms: i64) -> ApiResult<HealthReport> {
    let health = state.sale_health();
    health.sample_pool(pool_in_use(state.db()));
    let report = health.take(now_ms, state.config().db_max_connections);
    let ttl_ms = fresh_for_ms(state.config()).saturating_mul(2);
    store::report_health(state.redis(), state.keys(), instance, &report, ttl_ms).await?;
    Ok(report)
}

/// Reports this instance's sale health every `AUTOPILOT_REPORT_MS` until `stop` turns true.
pub async fn run(state: AppState, mut stop: watch::Receiver<bool>) {
    let every = Duration::from_millis(state.config().autopilot_report_ms.max(100));
    let instance = uuid::Uuid::new_v4().simple().to_string();
    let mut interval = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = interval.tick() => {}
            _ = stop.wait_for(|stopped| *stopped) => return,
        }
        if let Err(error) = report_now(&state, &instance, Utc::now().timestamp_millis()).await {
            tracing::warn!(%error, "reporting sale health failed");
        }
    }
}

/// The sale schema's extension that feeds this instance's [`SaleHealth`].
pub struct SaleHealthHook {
    health: SaleHealth,
    db: DatabaseConnection,
}

impl SaleHealthHook {
    pub fn new(state: &AppState) -> Self {
        Self {
            health: state.sale_health().clone(),
            db: state.db().clone(),
        }
    }
}

impl ExtensionFactory for SaleHealthHook {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(Hook {
            health: self.health.clone(),
            db: self.db.clone(),
            mutations: OnceLock::new(),
            recorded: AtomicBool::new(false),
        })
    }
}

/// One request's recording.
struct Hook {
    health: SaleHealth,
    db: DatabaseConnection,
    /// Each operation of the document, by name, and whether it is a mutation. Read from the
    /// parsed document, since the `execute` hook is given only the name.
    mutations: OnceLock<Vec<(Option<String>, bool)>>,
    /// Set once the execution was recorded, so the HTTP answer is not counted twice.
    recorded: AtomicBool,
}

/// True for an answer the instance refused as `BUSY` (typed, or already given its code).
fn is_busy(error: &ServerError) -> bool {
    matches!(error.source::<ApiError>(), Some(ApiError::Busy { .. }))
        || carries_code(error, ErrorCode::Busy)
}

impl Hook {
    fn record(&self, latency: Option<Duration>, response: &Response) {
        self.recorded.store(true, Ordering::Relaxed);
        self.health
            .record(latency, response.errors.iter().any(is_busy));
        self.health.sample_pool(pool_in_use(&self.db));
    }
}

#[async_trait::async_trait]
impl Extension for Hook {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let response = next.run(ctx).await;
        // Refused before execution (a bound, a bad document): still an answer of the sale.
        if !self.recorded.load(Ordering::Relaxed) {
            self.record(None, &response);
        }
        response
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        let mutations = document
            .operations
            .iter()
            .map(|(name, operation)| {
                (
                    name.map(|name| name.to_string()),
                    operation.node.ty == OperationType::Mutation,
                )
            })
            .collect();
        let _ = self.mutations.set(mutations);
        Ok(document)
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let started = Instant::now();
        let (response, waited_on_others) =
            crate::sale_health::timing_others(next.run(ctx, operation_name)).await;
        let mutation = self.mutations.get().is_some_and(|operations| {
            operations
                .iter()
                .find(|(name, _)| operation_name.is_none() || name.as_deref() == operation_name)
                .is_some_and(|(_, mutation)| *mutation)
        });
        // The payment provider's wait is not the sale path's latency.
        let own = started.elapsed().saturating_sub(waited_on_others);
        self.record(mutation.then_some(own), &response);
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_is_told_apart_whether_typed_or_already_coded() {
        let busy = ApiError::Busy {
            retry_after_ms: 500,
        };
        let from_a_resolver = async_graphql::Error::from(busy.clone())
            .into_server_error(async_graphql::Pos::default());
        let refused_before = busy.into_server_error();
        let other = ApiError::SeatTaken { seat_ids: vec![1] }.into_server_error();

        assert!(is_busy(&from_a_resolver));
        assert!(is_busy(&refused_before));
        assert!(!is_busy(&other));
    }
}
