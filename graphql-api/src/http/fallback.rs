//! Every path no route takes: the web client's history routes get its page, the rest a JSON
//! error.

use axum::{
    Json,
    extract::Request,
    http::{Method, StatusCode, header},
    response::{IntoResponse, Response},
};
use tower_http::services::ServeFile;

use crate::error::{ErrorCode, json_error};

/// Unknown paths under the client: a page the client draws itself for a browser's
/// navigation, a JSON 404 for anything that looks like a file or an API call.
pub(super) async fn client_route(index: ServeFile, request: Request) -> Response {
    let path = request.uri().path();
    let last = path.rsplit('/').next().unwrap_or_default();
    let first = path
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or_default();
    let api_like = matches!(
        first,
        "graphql" | "sale" | "webhooks" | "api" | "healthz" | "readyz" | "metrics" | "assets"
    ) || last.contains('.');
    let navigation = matches!(*request.method(), Method::GET | Method::HEAD)
        && request
            .headers()
            .get(header::ACCEPT)
            .and_then(|accept| accept.to_str().ok())
            .is_some_and(|accept| accept.contains("text/html"));
    if api_like || !navigation {
        return not_found().await;
    }
    match tower::ServiceExt::oneshot(index, request).await {
        Ok(response) => response.into_response(),
        Err(never) => match never {},
    }
}

/// A JSON 405 in the API's error shape, for a route asked with a method it does not take.
pub(super) async fn method_not_allowed() -> Response {
    (
        StatusCode::METHOD_NOT_ALLOWED,
        Json(json_error(
            ErrorCode::MethodNotAllowed,
            "This route does not take this HTTP method.",
        )),
    )
        .into_response()
}

/// A JSON 404 in the API's error shape.
pub(super) async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json_error(ErrorCode::NotFound, "No such route.")),
    )
        .into_response()
}
