//! The two GraphQL endpoints: POST executes; GET upgrades to a WebSocket, or serves GraphiQL
//! to a browser.

use async_graphql::http::GraphiQLSource;
use async_graphql_axum::GraphQLProtocol;
use axum::{
    body::Bytes,
    extract::{
        FromRequestParts, Path, State,
        rejection::BytesRejection,
        ws::{WebSocketUpgrade, rejection::WebSocketUpgradeRejection},
    },
    http::{HeaderMap, HeaderValue, Uri, header},
    response::{Html, IntoResponse, Response},
};

use super::{
    HttpState,
    response::{
        failed_json_bytes, graphql_refusal, graphql_response, json_bytes, parse_graphql_request,
        refusal_for,
    },
};
use crate::{
    auth::{Auth, now_secs},
    error::{ApiError, ErrorCode},
    events::find_event,
    sale::{self, SaleAuth},
    schema::SaleScope,
    seats, ws,
};

/// POST on `/graphql`: runs the request as whoever its bearer token names (or nobody).
pub(super) async fn public_graphql(
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

/// GET on `/graphql`: a WebSocket upgrade for subscriptions, else GraphiQL.
pub(super) async fn public_get(
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

/// POST on a sale path: runs the request for the event's admitted buyer; a request asking
/// only for the seat map shares its answer with every fan asking the same
/// ([`seats::shared`]).
pub(super) async fn sale_graphql(
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
                Err(own) => failed_json_bytes(own),
            }
        }
        None => graphql_response(state.sale.execute(request).await),
    }
}

/// GET on a sale path: a WebSocket upgrade (with its token checked first), else GraphiQL.
pub(super) async fn sale_get(
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
