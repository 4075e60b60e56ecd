//! Shared seat-map answers. When a sale opens, every admitted fan asks for the same
//! 270 KB seat map within seconds; building it (about 1,600 runs through the GraphQL
//! executor) costs milliseconds of CPU each time, while the answer only changes when a seat
//! does. A request that asks for nothing but the seat map (or the states snapshot,
//! `seatStates`) is therefore answered once per (event, seat-change sequence, query text)
//! and the bytes are shared, for a second at most.
//!
//! Sharing is safe because nothing in `seatMap` depends on who asks (the token was checked
//! before), and an answer built after the sequence was read holds every change up to it
//! (see [`super::map`]). An answer with errors is never kept: requests already waiting on
//! that build get it too (they asked the same, at the same moment), later ones build again.
//!
//! Browsers ask for gzip, and compressing 270 KB costs more than copying it, so the gzipped
//! bytes are made once per shared answer too, the first time a fan asks for them.

use std::{
    future::Future,
    hash::{BuildHasher as _, Hash as _, Hasher as _},
    sync::Arc,
};

use crate::{answers::SharedAnswer, live::seats::current_sequence, state::AppState};
use async_graphql::parser::types::{OperationType, Selection};
use axum::{
    body::Bytes,
    http::{HeaderMap, header},
};

/// Whether a client takes gzip (`Accept-Encoding`, a `q=0` refuses it).
pub fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|coding| {
            let mut parts = coding.split(';').map(str::trim);
            let name = parts.next().unwrap_or_default();
            let refused = parts.any(|parameter| {
                parameter
                    .strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
        })
}

/// The only root fields a shared request may ask for.
const SHAREABLE_ROOTS: [&str; 3] = ["seatMap", "seatStates", "__typename"];

/// The fields whose answers are worth sharing: one of them must be asked for.
const SEAT_ROOTS: [&str; 2] = ["seatMap", "seatStates"];

/// A request's identity when its answer can be shared (see [`asks_only_for_the_map`]);
/// `None` for everything else.
pub fn shareable(state: &AppState, request: &mut async_graphql::Request) -> Option<u64> {
    if !asks_only_for_the_map(request) {
        return None;
    }
    let mut hasher = state.answer_hasher().build_hasher();
    request.query.hash(&mut hasher);
    request.operation_name.hash(&mut hasher);
    Some(hasher.finish())
}

/// True for one query operation asking only for `seatMap` or `seatStates` (or both, and
/// perhaps `__typename`),
/// without variables, extensions, arguments or directives at the top: its answer depends on
/// nothing but the event's seats. The parse stays in the request, so the schema (and the
/// guard) do not parse it again.
pub fn asks_only_for_the_map(request: &mut async_graphql::Request) -> bool {
    if !request.variables.is_empty() || !request.extensions.is_empty() {
        return false;
    }
    // Read before parsing: the guard refuses this request when it runs, but the parser
    // would overflow the stack first.
    if crate::guard::nesting(&request.query) > crate::guard::MAX_NESTING {
        return false;
    }
    let Ok(document) = request.parsed_query() else {
        return false;
    };
    let mut operations = document.operations.iter();
    let Some((_, operation)) = operations.next() else {
        return false;
    };
    let operation = &operation.node;
    let plain = operations.next().is_none()
        && operation.ty == OperationType::Query
        && operation.variable_definitions.is_empty()
        && operation.directives.is_empty();
    let mut roots = operation.selection_set.node.items.iter().peekable();
    let mut asks_for_the_map = false;
    let only_the_map = roots.peek().is_some()
        && roots.all(|selection| match &selection.node {
            Selection::Field(field) => {
                let field = &field.node;
                asks_for_the_map |= SEAT_ROOTS.contains(&field.name.node.as_str());
                SHAREABLE_ROOTS.contains(&field.name.node.as_str())
                    && field.arguments.is_empty()
                    && field.directives.is_empty()
            }
            Selection::FragmentSpread(_) | Selection::InlineFragment(_) => false,
        });
    plain && only_the_map && asks_for_the_map
}

/// This request's answer: shared with every fan asking the same at this sequence, or built
/// by `execute` (then shared if it has no errors). `Err` holds an answer with errors,
/// which is this request's alone.
pub async fn answer<F>(
    state: &AppState,
    event: i64,
    query: u64,
    execute: F,
) -> Result<Arc<SharedAnswer>, Bytes>
where
    F: Future<Output = async_graphql::Response>,
{
    let build = async move {
        let response = execute.await;
        let ok = response.is_ok();
        let body = serde_json::to_vec(&response).map(Bytes::from).unwrap_or_else(|_| {
            Bytes::from_static(br#"{"errors":[{"message":"The answer could not be written.","extensions":{"code":"INTERNAL_ERROR"}}]}"#)
        });
        if ok {
            Ok(Arc::new(SharedAnswer::new(body)))
        } else {
            Err(body)
        }
    };
    // Without the sequence (Redis away) the answer cannot be named: build it unshared.
    let Ok(sequence) = current_sequence(state.redis(), state.keys(), event).await else {
        return build.await;
    };
    state
        .seat_map_answers()
        .try_get_with((event, sequence, query), build)
        .await
        .map_err(|body| Bytes::clone(&body))
}

#[cfg(test)]
mod tests {
    use async_graphql::{Request, Variables};

    use super::*;

    fn shared(query: &str) -> bool {
        asks_only_for_the_map(&mut Request::new(query))
    }

    #[test]
    fn a_query_for_the_map_alone_is_shared() {
        assert!(shared("{ seatMap { status sequence } }"));
        assert!(shared(
            "query SeatMap { seatMap { status runs { x y } } __typename }"
        ));
        assert!(shared(
            "query { seatMap { ...F } } fragment F on SeatMap { status }"
        ));
        assert!(shared(
            "query SeatStates { seatStates { sequence states } }"
        ));
    }

    #[test]
    fn anything_more_or_anything_else_is_not() {
        assert!(!shared("{ __typename }"), "no map asked for");
        assert!(
            !shared("{ seatStates { states } myHold { id } }"),
            "per-fan data"
        );
        assert!(
            !shared("{ seatMap { status } myHold { id } }"),
            "per-fan data"
        );
        assert!(!shared("{ seatMap { status } availability { available } }"));
        assert!(!shared("{ ... on SaleQuery { seatMap { status } } }"));
        assert!(!shared("{ seatMap @include(if: true) { status } }"));
        assert!(!shared("query Q @cached { seatMap { status } }"));
        assert!(!shared("mutation { seatMap { status } }"));
        assert!(!shared(
            "query A { seatMap { status } } query B { seatMap { status } }"
        ));
        assert!(!shared("query($x: Boolean) { seatMap { status } }"));
        assert!(!shared("{ seatMap { status "), "does not parse");
        assert!(!shared(""));
        let mut with_variables = Request::new("{ seatMap { status } }")
            .variables(Variables::from_json(serde_json::json!({ "x": 1 })));
        assert!(!asks_only_for_the_map(&mut with_variables));
    }

    #[test]
    fn gzip_is_taken_unless_refused() {
        let accepts = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::ACCEPT_ENCODING, value.parse().expect("a header"));
            accepts_gzip(&headers)
        };
        assert!(accepts("gzip"));
        assert!(accepts("br, GZip;q=0.8, deflate"));
        assert!(accepts("*"));
        assert!(!accepts("br, deflate"));
        assert!(!accepts("gzip;q=0"));
        assert!(!accepts("identity"));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }

    #[test]
    fn the_gzipped_answer_is_the_answer() {
        use std::io::Read as _;

        let json = Bytes::from(r#"{"data":{"seatMap":{"status":"AAAAHHBA"}}}"#.repeat(50));
        let answer = SharedAnswer::new(json.clone());
        let zipped = futures_util::FutureExt::now_or_never(answer.gzip()).expect("no waiting");
        let mut unzipped = Vec::new();
        flate2::read::GzDecoder::new(&zipped[..])
            .read_to_end(&mut unzipped)
            .expect("gzip");
        assert_eq!(unzipped, json);
        assert!(zipped.len() < json.len() / 4);
    }
}
