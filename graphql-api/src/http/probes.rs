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
