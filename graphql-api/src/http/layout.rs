//! An event's seat layout as a file browsers keep: `GET /events/{eventId}/layout.json`
//! (always revalidated: `no-cache`, a strong `ETag`, `304` on `If-None-Match`) and
//! `GET /events/{eventId}/layout/{version}.json` (the same bytes under a name that changes
//! with them, so `immutable` for a year). Seats never move once seeded, so a fan loads the
//! layout once per event and keeps it across reloads; the live states come separately
//! (`seatStates` on the sale schema).
//!
//! Public, not a sale route: the layout is the venue's drawing with the event's price bands
//! (both already public through `events`) and no fan's data or seat state, so fans may fetch
//! it while they wait in the queue and any shared cache may keep it.
//!
//! Served gzipped when asked (made once per event and instance) and outside the router's
//! compression layer: each representation has its own strong ETag (`"v"` and `"v-gzip"`),
//! which a body compressed on the fly would betray.

use axum::{
    Json,
    extract::{Path, State, rejection::PathRejection},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};

use super::HttpState;
use crate::{
    error::{ApiError, ErrorCode, json_error},
    events::find_event,
    seats::{map::layout_file, shared::accepts_gzip},
};

/// `Cache-Control` of the versioned name: its bytes can never change.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// `Cache-Control` of the plain name: keep it, but ask before using it.
const REVALIDATE: &str = "no-cache";

/// `GET /events/{eventId}/layout.json`: the current layout, revalidated on every use.
pub(super) async fn current_layout(
    State(state): State<HttpState>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Response {
    match path {
        Ok(Path(event_id)) => serve(&state, &event_id, None, &headers).await,
        Err(_) => unreadable_path(),
    }
}

/// `GET /events/{eventId}/layout/{version}.json`: one version of the layout, for good.
pub(super) async fn versioned_layout(
    State(state): State<HttpState>,
    path: Result<Path<(String, String)>, PathRejection>,
    headers: HeaderMap,
) -> Response {
    match path {
        Ok(Path((event_id, file))) => serve(&state, &event_id, Some(&file), &headers).await,
        Err(_) => unreadable_path(),
    }
}

async fn serve(
    state: &HttpState,
    event_id: &str,
    file_name: Option<&str>,
    headers: &HeaderMap,
) -> Response {
    let event = match find_event(&state.app, event_id).await {
        Ok(event) => event,
        Err(error) => return refusal(&error),
    };
    let file = match layout_file(&state.app, event.id).await {
        Ok(file) => file,
        Err(error) => return refusal(&error),
    };
    let cache_control = match file_name {
        None => REVALIDATE,
        Some(name) if name.strip_suffix(".json") == Some(file.version()) => IMMUTABLE,
        Some(_) => {
            return plain_error(
                ErrorCode::NotFound,
                &format!(
                    "This event's layout has no such version: /events/{}/layout.json names the current one.",
                    event.id
                ),
            );
        }
    };
    let gzip = accepts_gzip(headers);
    let etag = etag(file.version(), gzip);
    let mut response = if none_match(headers, file.version()) {
        StatusCode::NOT_MODIFIED.into_response()
    } else if gzip {
        let mut response = file.gzip().await.into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        response
    } else {
        file.json().into_response()
    };
    let out = response.headers_mut();
    out.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    out.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(cache_control),
    );
    out.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    if let Ok(etag) = HeaderValue::from_str(&etag) {
        out.insert(header::ETAG, etag);
    }
    if response.status() == StatusCode::NOT_MODIFIED {
        response.headers_mut().remove(header::CONTENT_TYPE);
    }
    response
}

/// The strong ETag of one representation of a version.
fn etag(version: &str, gzip: bool) -> String {
    if gzip {
        format!("\"{version}-gzip\"")
    } else {
        format!("\"{version}\"")
    }
}

/// Whether `If-None-Match` names this version, in either representation (weakly compared,
/// as RFC 9110 asks for this header), or is `*`. Unreadable values name nothing.
fn none_match(headers: &HeaderMap, version: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .any(|tag| {
            let tag = tag.strip_prefix("W/").unwrap_or(tag);
            let opaque = tag.strip_prefix('"').and_then(|tag| tag.strip_suffix('"'));
            tag == "*"
                || opaque.is_some_and(|opaque| {
                    opaque == version || opaque.strip_suffix("-gzip") == Some(version)
                })
        })
}

/// A path whose segments do not decode (bad percent-encoding): no such route.
fn unreadable_path() -> Response {
    plain_error(ErrorCode::NotFound, "No such route.")
}

/// An error in the plain JSON shape (`{"error": {...}}`) with its code's status; internal
/// causes are logged, never sent.
fn refusal(error: &ApiError) -> Response {
    if let ApiError::Internal(cause) = error {
        crate::error::log_internal(cause);
    }
    plain_error(error.code(), &error.to_string())
}

fn plain_error(code: ErrorCode, message: &str) -> Response {
    let status = StatusCode::from_u16(code.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
    let mut response = (status, Json(json_error(code, message))).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asked(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::IF_NONE_MATCH, value.parse().expect("a header"));
        headers
    }

    #[test]
    fn if_none_match_names_a_version_in_either_representation() {
        assert!(none_match(&asked("\"abc\""), "abc"));
        assert!(none_match(&asked("\"abc-gzip\""), "abc"));
        assert!(none_match(&asked("W/\"abc\""), "abc"));
        assert!(none_match(&asked("\"old\", \"abc-gzip\""), "abc"));
        assert!(none_match(&asked("*"), "abc"));
    }

    #[test]
    fn other_versions_and_garbage_name_nothing() {
        assert!(!none_match(&HeaderMap::new(), "abc"));
        assert!(!none_match(&asked("\"abd\""), "abc"));
        assert!(!none_match(&asked("abc"), "abc"), "an ETag is quoted");
        assert!(!none_match(&asked("\"abc-br\""), "abc"));
        assert!(!none_match(&asked("\"\""), "abc"));
        assert!(!none_match(&asked(""), "abc"));
    }

    #[test]
    fn each_representation_has_its_own_strong_etag() {
        assert_eq!(etag("abc", false), "\"abc\"");
        assert_eq!(etag("abc", true), "\"abc-gzip\"");
    }
}
