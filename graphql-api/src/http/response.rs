//! Reading a GraphQL request's body, and writing answers and refusals with the status the
//! error table gives.

use axum::{
    Json,
    body::Bytes,
    extract::rejection::BytesRejection,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};

use crate::error::{ApiError, ErrorCode, carries_code, graphql_error_body};

/// Reads a JSON GraphQL request, refusing bodies that are too large or not GraphQL.
pub(super) fn parse_graphql_request(
    body: Result<Bytes, BytesRejection>,
) -> Result<async_graphql::Request, Box<Response>> {
    let body = body.map_err(|rejection| {
        let (code, message) = if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            (ErrorCode::PayloadTooLarge, "The request body is too large.")
        } else {
            (ErrorCode::BadRequest, "The request body could not be read.")
        };
        Box::new(graphql_refusal(code, message))
    })?;
    let refusal = || {
        Box::new(graphql_refusal(
            ErrorCode::BadRequest,
            "The body must be JSON like {\"query\": \"...\", \"variables\": {...}}.",
        ))
    };
    let request = serde_json::from_slice::<async_graphql::Request>(&body).map_err(|_| refusal())?;
    if request.query.trim().is_empty() {
        return Err(refusal());
    }
    Ok(request)
}

/// A refusal before execution, with the error's status and extensions; internal causes are
/// logged, not sent.
pub(super) fn refusal_for(error: &ApiError) -> Response {
    if let ApiError::Internal(cause) = error {
        crate::error::log_internal(cause);
    }
    let mut body = graphql_error_body(error.code(), &error.to_string());
    // A `BUSY` here (the sale path's event or admission could not be read: Postgres or Redis
    // away) carries its `retryAfterMs` and `Retry-After` like one from a resolver, or clients
    // that wait as told would find nothing to wait for.
    for (name, value) in error.extra_extensions() {
        body["errors"][0]["extensions"][name] = value;
    }
    let status =
        StatusCode::from_u16(error.code().http_status()).unwrap_or(StatusCode::BAD_REQUEST);
    let mut response = (status, Json(body)).into_response();
    if let ApiError::Busy { retry_after_ms } | ApiError::RateLimited { retry_after_ms } = error {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, retry_after_header(*retry_after_ms));
    }
    response
}

/// A GraphQL-shaped error body with the status of its code.
pub(super) fn graphql_refusal(code: ErrorCode, message: &str) -> Response {
    let status = StatusCode::from_u16(code.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
    (status, Json(graphql_error_body(code, message))).into_response()
}

/// A GraphQL answer: 200 once fields ran (their errors are in the body), or the first
/// error's status when the request was refused before execution (parse, validation, limits)
/// or when it ran but every error is `BUSY` and no data came back (the pool had no
/// connection in time): a retry hint is then a 503 with `Retry-After`, wherever it arose.
pub(super) fn graphql_response(mut response: async_graphql::Response) -> Response {
    let refused = response
        .http_headers
        .remove(crate::schema::REFUSED_BEFORE_EXECUTION)
        .is_some()
        || only_busy(&response);
    let first = refused
        .then(|| response.errors.first())
        .flatten()
        .and_then(|error| error.extensions.as_ref());
    let status = first
        .and_then(|extensions| extensions.get("code").cloned())
        .and_then(|code| match code {
            async_graphql::Value::String(code) => ErrorCode::from_code(&code),
            _ => None,
        })
        .and_then(|code| StatusCode::from_u16(code.http_status()).ok());
    let retry_after_ms = first
        .and_then(|extensions| extensions.get("retryAfterMs").cloned())
        .and_then(|value| match value {
            async_graphql::Value::Number(ms) => ms.as_u64(),
            _ => None,
        });
    let mut http = Json(response).into_response();
    if let Some(status) = status {
        *http.status_mut() = status;
    }
    if let Some(ms) = retry_after_ms {
        http.headers_mut()
            .insert(header::RETRY_AFTER, retry_after_header(ms));
    }
    http.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    http
}

/// Whether the answer holds no data and nothing but `BUSY` errors.
fn only_busy(response: &async_graphql::Response) -> bool {
    matches!(response.data, async_graphql::Value::Null)
        && !response.errors.is_empty()
        && response
            .errors
            .iter()
            .all(|error| carries_code(error, ErrorCode::Busy))
}

/// `Retry-After` for a hint in ms: whole seconds, rounded up, at least 1.
fn retry_after_header(ms: u64) -> HeaderValue {
    HeaderValue::from(ms.div_ceil(1_000).max(1))
}

/// A failed answer already written as JSON (a shared seat-map build that did not succeed):
/// a `BUSY` refusal (only ever made before execution) gets its status and `Retry-After`
/// as in [`graphql_response`]; any other answer is sent as it is.
pub(super) fn failed_json_bytes(body: Bytes) -> Response {
    let busy_retry_ms = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .filter(|answer| answer.get("data").is_none_or(serde_json::Value::is_null))
        .and_then(|answer| {
            let extensions = answer.get("errors")?.get(0)?.get("extensions")?;
            (extensions.get("code")?.as_str()? == ErrorCode::Busy.as_str())
                .then(|| extensions.get("retryAfterMs")?.as_u64())
                .flatten()
        });
    let mut http = json_bytes(body);
    if let Some(ms) = busy_retry_ms {
        *http.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
        http.headers_mut()
            .insert(header::RETRY_AFTER, retry_after_header(ms));
    }
    http
}

/// A GraphQL answer already written as JSON, with the headers of [`graphql_response`].
pub(super) fn json_bytes(body: Bytes) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        body,
    )
        .into_response()
}
