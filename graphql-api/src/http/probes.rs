//! Health and readiness, for the orchestrator and the gateway.

use std::time::Duration;

use axum::{
    Json,
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use fred::prelude::ClientLike as _;

use super::HttpState;

/// Liveness: the process answers.
pub(super) async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

/// Readiness: Postgres and Redis both answer within a second.
pub(super) async fn readyz(State(state): State<HttpState>) -> Response {
    let limit = Duration::from_secs(1);
    let postgres = tokio::time::timeout(limit, state.app.db().ping()).await;
    let redis = tokio::time::timeout(limit, state.app.redis().ping::<String>(None)).await;
    let postgres_ok = matches!(postgres, Ok(Ok(())));
    let redis_ok = matches!(redis, Ok(Ok(_)));
    let verdict = |ok: bool| if ok { "ok" } else { "unreachable" };
    let status = if postgres_ok && redis_ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = serde_json::json!({
        "status": if status == StatusCode::OK { "ready" } else { "not ready" },
        "postgres": verdict(postgres_ok),
        "redis": verdict(redis_ok),
    });
    (status, Json(body)).into_response()
}

/// Prometheus metrics: the counters kept as requests run, and the queue counters and pool
/// read now. A failed read of the queue leaves the last values and is logged; the rest is
/// still served.
pub(super) async fn metrics(State(state): State<HttpState>) -> Response {
    use crate::metrics::METRICS;
    let app = &state.app;
    if let Err(error) = crate::queue::admin::export_metrics(app).await {
        tracing::warn!(%error, "reading the queues for /metrics failed");
    }
    let pool = app.db().get_postgres_connection_pool();
    let (size, idle) = (i64::from(pool.size()), pool.num_idle() as i64);
    for (connections, count) in [
        ("in_use", size - idle),
        ("idle", idle),
        ("max", i64::from(app.config().db_max_connections)),
    ] {
        METRICS.pool.with_label_values(&[connections]).set(count);
    }
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        METRICS.render(),
    )
        .into_response()
}
