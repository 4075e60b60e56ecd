//! HTTP routes: the two GraphQL endpoints (POST executes, GET serves GraphiQL), health and
//! readiness, and the web client's files.

use std::time::{Duration, Instant};

use async_graphql::http::GraphiQLSource;
use async_graphql_axum::GraphQLProtocol;
use axum::{
    Json, Router,
    body::Bytes,
    extract::{
        DefaultBodyLimit, FromRequestParts, Path, Request, State,
        rejection::BytesRejection,
        ws::{WebSocketUpgrade, rejection::WebSocketUpgradeRejection},
    },
    handler::HandlerWithoutStateExt as _,
    http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header},
    middleware::{self, Next},
    response::{Html, IntoResponse, Response},
    routing::get,
};
use fred::prelude::ClientLike as _;
use tower_http::{
    compression::CompressionLayer,
    cors::{AllowOrigin, CorsLayer},
    services::{ServeDir, ServeFile},
};

use crate::{
    auth::{Auth, now_secs},
    error::{ApiError, ErrorCode, graphql_error_body, json_error},
    events::find_event,
    sale::{self, SaleAuth},
    schema::{PublicSchema, SaleSchema, SaleScope, public_schema, sale_schema},
    seats,
    state::AppState,
    ws,
};

/// What every handler reaches.
#[derive(Clone)]
pub struct HttpState {
    pub app: AppState,
    pub public: PublicSchema,
    pub sale: SaleSchema,
}

/// All routes of the API.
pub fn router(app: &AppState) -> Router {
    let state = HttpState {
        public: public_schema(app),
        sale: sale_schema(app),
        app: app.clone(),
    };
    let mut graphql = Router::new()
        .route("/graphql", get(public_get).post(public_graphql))
        .route("/sale/{event_id}/graphql", get(sale_get).post(sale_graphql))
        // Before CORS, so that the layer still answers preflights (OPTIONS) first.
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(app.config().max_body_bytes));
    if let Some(cors) = cors(&app.config().cors_allowed_origins) {
        graphql = graphql.layer(cors);
    }
    let graphql = graphql.layer(middleware::from_fn_with_state(app.clone(), log_request));
    let probes = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .method_not_allowed_fallback(method_not_allowed);
    let webhooks = Router::new()
        .route(
            "/webhooks/payments",
            axum::routing::post(crate::payments::webhook::handle),
        )
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(64 * 1024))
        .layer(middleware::from_fn_with_state(app.clone(), log_request))
        .with_state(app.clone());
    let router = graphql.merge(probes).merge(webhooks);
    let router = match &app.config().client_dir {
        // The client is a single-page app: its history routes get its index.html, while
        // unknown files and API-looking paths get a JSON 404.
        Some(dir) => {
            let index = ServeFile::new(dir.join("index.html"));
            let history = move |request: Request| client_route(index.clone(), request);
            router.fallback_service(
                ServeDir::new(dir)
                    .call_fallback_on_method_not_allowed(true)
                    .fallback(history.into_service()),
            )
        }
        None => router.fallback(not_found),
    };
    router.layer(CompressionLayer::new()).with_state(state)
}

/// CORS for the GraphQL routes, when some origins are allowed (`CORS_ALLOWED_ORIGINS`):
/// browsers on those origins may send `Authorization` and JSON, and read `Retry-After`.
/// Preflights are answered here, before any route runs.
pub fn cors(origins: &[String]) -> Option<CorsLayer> {
    let origins: Vec<&str> = origins
        .iter()
        .map(|origin| origin.trim())
        .filter(|origin| !origin.is_empty())
        .collect();
    if origins.is_empty() {
        return None;
    }
    let allow = if origins.contains(&"*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(
            origins
                .iter()
                .filter_map(|origin| HeaderValue::from_str(origin.trim_end_matches('/')).ok()),
        )
    };
    Some(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods([Method::GET, Method::POST])
            .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE, header::ACCEPT])
            .expose_headers([header::RETRY_AFTER])
            .max_age(Duration::from_secs(600)),
    )
}

/// Refuses `CORS_ALLOWED_ORIGINS` entries that could never match a browser's `Origin` (a
/// path, no scheme), as the gateway does with the same list, so a typo stops the start
/// instead of silently blocking an app.
pub fn check_origins(origins: &[String]) -> anyhow::Result<()> {
    for entry in origins {
        let origin = entry.trim().trim_end_matches('/');
        let Some((scheme, host)) = origin.split_once("://") else {
            if origin.is_empty() || origin == "*" {
                continue;
            }
            anyhow::bail!(
                "CORS_ALLOWED_ORIGINS: {entry:?} is not an origin like https://app.example"
            );
        };
        let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
        let valid = scheme_ok
            && !host.is_empty()
            && !host.contains(['/', '?', '#', ' '])
            && HeaderValue::from_str(origin).is_ok();
        anyhow::ensure!(
            valid,
            "CORS_ALLOWED_ORIGINS: {entry:?} is not an origin like https://app.example (scheme://host[:port], no path)"
        );
    }
    Ok(())
}

/// Unknown paths under the client: a page the client draws itself for a browser's
/// navigation, a JSON 404 for anything that looks like a file or an API call.
async fn client_route(index: ServeFile, request: Request) -> Response {
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

async fn method_not_allowed() -> Response {
    (
        StatusCode::METHOD_NOT_ALLOWED,
        Json(json_error(
            ErrorCode::MethodNotAllowed,
            "This route does not take this HTTP method.",
        )),
    )
        .into_response()
}

/// Logs one line per request, with the path only: query strings may carry tokens.
async fn log_request(State(app): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    app.requests().record(method.as_str(), &path);
    let response = next.run(request).await;
    tracing::info!(
        %method,
        path,
        status = response.status().as_u16(),
        duration_ms = started.elapsed().as_secs_f64() * 1e3,
        "request"
    );
    response
}

async fn public_graphql(
    State(state): State<HttpState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let request = match parse_graphql_request(body) {
        Ok(request) => request,
        Err(refusal) => return *refusal,
    };
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok());
    let auth = Auth::from_bearer(authorization, state.app.access_keys(), now_secs());
    let request = request.data(auth);
    graphql_response(state.public.execute(request).await)
}

async fn sale_graphql(
    State(state): State<HttpState>,
    Path(event_id): Path<String>,
    headers: HeaderMap,
    uri: Uri,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let mut request = match parse_graphql_request(body) {
        Ok(request) => request,
        Err(refusal) => return *refusal,
    };
    let (event, auth) = match sale_scope(&state, &event_id, &headers, &uri).await {
        Ok(found) => found,
        Err(error) => return refusal_for(&error),
    };
    let (event_id, shared) = (event.id, seats::shared::shareable(&state.app, &mut request));
    let request = request.data(SaleScope { event }).data(auth);
    match shared {
        Some(query) => {
            let answer =
                seats::shared::answer(&state.app, event_id, query, state.sale.execute(request))
                    .await;
            match answer {
                Ok(shared) if seats::shared::accepts_gzip(&headers) => {
                    let mut response = json_bytes(shared.gzip().await);
                    let headers = response.headers_mut();
                    // Already compressed: the compression layer leaves it as it is.
                    headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
                    headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
                    response
                }
                Ok(shared) => json_bytes(shared.json()),
                Err(own) => json_bytes(own),
            }
        }
        None => graphql_response(state.sale.execute(request).await),
    }
}

/// The event of a sale path and the buyer of the request, or why it is refused.
async fn sale_scope(
    state: &HttpState,
    event_id: &str,
    headers: &HeaderMap,
    uri: &Uri,
) -> Result<(std::sync::Arc<entities::event::Model>, SaleAuth), ApiError> {
    let event = find_event(&state.app, event_id).await?;
    let token = sale::token_from(headers, uri);
    let auth = sale::authenticate(&state.app, &event, token.as_deref()).await?;
    Ok((event, auth))
}

/// GET on a sale path: a WebSocket upgrade (with its token checked first), else GraphiQL.
async fn sale_get(
    State(state): State<HttpState>,
    Path(event_id): Path<String>,
    headers: HeaderMap,
    uri: Uri,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
    protocol: Result<GraphQLProtocol, <GraphQLProtocol as FromRequestParts<HttpState>>::Rejection>,
) -> Response {
    let Ok(upgrade) = upgrade else {
        return sale_graphiql(&state, &event_id).await;
    };
    let Ok(protocol) = protocol else {
        return graphql_refusal(
            ErrorCode::BadRequest,
            "WebSockets here speak `graphql-transport-ws`: send Sec-WebSocket-Protocol: graphql-transport-ws.",
        );
    };
    let (event, auth) = match sale_scope(&state, &event_id, &headers, &uri).await {
        Ok(found) => found,
        Err(error) => return refusal_for(&error),
    };
    let mut data = async_graphql::Data::default();
    data.insert(SaleScope { event });
    data.insert(auth);
    ws::serve(
        state.app.clone(),
        state.sale.clone(),
        protocol,
        upgrade,
        Some(data),
    )
}

/// Reads a JSON GraphQL request, refusing bodies that are too large or not GraphQL.
fn parse_graphql_request(
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

fn refusal_for(error: &ApiError) -> Response {
    if let ApiError::Internal(cause) = error {
        crate::error::log_internal(cause);
    }
    graphql_refusal(error.code(), &error.to_string())
}

fn graphql_refusal(code: ErrorCode, message: &str) -> Response {
    let status = StatusCode::from_u16(code.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
    (status, Json(graphql_error_body(code, message))).into_response()
}

/// A GraphQL answer: 200 once fields ran (their errors are in the body), or the first
/// error's status when the request was refused before execution (parse, validation, limits).
fn graphql_response(mut response: async_graphql::Response) -> Response {
    let refused = response
        .http_headers
        .remove(crate::schema::REFUSED_BEFORE_EXECUTION)
        .is_some();
    let status = refused
        .then(|| response.errors.first())
        .flatten()
        .and_then(|error| error.extensions.as_ref()?.get("code").cloned())
        .and_then(|code| match code {
            async_graphql::Value::String(code) => ErrorCode::from_code(&code),
            _ => None,
        })
        .and_then(|code| StatusCode::from_u16(code.http_status()).ok());
    let mut http = Json(response).into_response();
    if let Some(status) = status {
        *http.status_mut() = status;
    }
    http.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    http
}

/// A GraphQL answer already written as JSON, with the headers of [`graphql_response`].
fn json_bytes(body: Bytes) -> Response {
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

/// GET on `/graphql`: a WebSocket upgrade for subscriptions, else GraphiQL.
async fn public_get(
    State(state): State<HttpState>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
    protocol: Result<GraphQLProtocol, <GraphQLProtocol as FromRequestParts<HttpState>>::Rejection>,
) -> Response {
    match (upgrade, protocol) {
        (Ok(upgrade), Ok(protocol)) => ws::serve(
            state.app.clone(),
            state.public.clone(),
            protocol,
            upgrade,
            None,
        ),
        (Ok(_), Err(_)) => graphql_refusal(
            ErrorCode::BadRequest,
            "WebSockets here speak `graphql-transport-ws`: send Sec-WebSocket-Protocol: graphql-transport-ws.",
        ),
        (Err(_), _) => Html(
            GraphiQLSource::build()
                .endpoint("/graphql")
                .subscription_endpoint("/graphql")
                .title("Tickets: public API")
                .finish(),
        )
        .into_response(),
    }
}

async fn sale_graphiql(state: &HttpState, event_id: &str) -> Response {
    match find_event(&state.app, event_id).await {
        Ok(event) => {
            let endpoint = format!("/sale/{}/graphql", event.id);
            let title = format!("Tickets: sale of {}", event.name);
            Html(
                GraphiQLSource::build()
                    .endpoint(&endpoint)
                    .subscription_endpoint(&endpoint)
                    .title(&title)
                    .finish(),
            )
            .into_response()
        }
        Err(error) => refusal_for(&error),
    }
}

/// Liveness: the process answers.
async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

/// Readiness: Postgres and Redis both answer within a second.
async fn readyz(State(state): State<HttpState>) -> Response {
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

async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json_error(ErrorCode::NotFound, "No such route.")),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_must_be_origins() {
        let ok = |list: &[&str]| {
            check_origins(&list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>())
        };
        assert!(ok(&[]).is_ok());
        assert!(ok(&["https://app.example", "http://localhost:5173/", "*", " "]).is_ok());
        assert!(ok(&["capacitor://localhost"]).is_ok());
        for bad in [
            "app.example",
            "https://app.example/path",
            "https://",
            "null",
            "1http://x",
        ] {
            assert!(ok(&[bad]).is_err(), "{bad}");
        }
    }

    #[test]
    fn cors_is_off_without_origins() {
        assert!(cors(&[]).is_none());
        assert!(cors(&[" ".to_owned()]).is_none());
        assert!(cors(&["https://app.example".to_owned()]).is_some());
    }
}
