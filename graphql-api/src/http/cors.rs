//! CORS for the GraphQL routes, and the start-up check of the allowed origins.

use std::time::Duration;

use axum::http::{HeaderValue, Method, header};
use tower_http::cors::{AllowOrigin, CorsLayer};

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
