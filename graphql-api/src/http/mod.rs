//! HTTP routes: the two GraphQL endpoints (POST executes, GET serves GraphiQL), events' seat
//! layouts as cacheable files, health and readiness, and the web client's files.
//!
//! [`router`] puts them together behind request logging; each kind of route reads in its own
//! file: `graphql` (with `response` for bodies in and answers out), `layout`, `cors`,
//! `probes`, and `fallback` (the client's pages and unknown paths).

mod cors;
mod fallback;
mod graphql;
mod layout;
mod probes;
mod response;

use std::time::Instant;

use axum::{
    Router,
    extract::{DefaultBodyLimit, Request, State},
    handler::HandlerWithoutStateExt as _,
    middleware::{self, Next},
    response::Response,
    routing::get,
};
use tower_http::{
    compression::CompressionLayer,
    services::{ServeDir, ServeFile},
};

pub use self::cors::{check_origins, cors};
use self::{
    fallback::{client_route, method_not_allowed, not_found},
    graphql::{public_get, public_graphql, sale_get, sale_graphql},
    layout::{current_layout, versioned_layout},
    probes::{healthz, readyz},
};
use crate::{
    schema::{PublicSchema, SaleSchema, public_schema, sale_schema},
    state::AppState,
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
        .route("/metrics", get(probes::metrics))
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
    // Outside the compression layer (added last): layouts come gzipped from memory, with
    // an ETag per representation that compressing again on the fly would break.
    let mut layouts = Router::new()
        .route("/events/{event_id}/layout.json", get(current_layout))
        .route("/events/{event_id}/layout/{file}", get(versioned_layout))
        .method_not_allowed_fallback(method_not_allowed);
    if let Some(cors) = cors(&app.config().cors_allowed_origins) {
        layouts = layouts.layer(cors);
    }
    let layouts = layouts.layer(middleware::from_fn_with_state(app.clone(), log_request));
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
    router
        .layer(CompressionLayer::new())
        .merge(layouts)
        .with_state(state)
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
