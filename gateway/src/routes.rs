//! What a request is, read from its path and headers alone: route kind, event id, token.
//!
//! Pure functions over strings, so the gate's reading of a request is unit-tested without a
//! socket. The body is never read: the event id is in the sale path for that reason.

/// The kind of route a path belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// The gateway's own liveness probe.
    Health,
    /// The gateway's own Prometheus metrics.
    Metrics,
    /// Everything that passes without a token (under per-IP rate limits).
    Public,
    /// `/sale/{eventId}/...`: only with a valid admission token for that event.
    Sale {
        /// The event named in the path.
        event: i64,
    },
    /// `/sale/...` without an integer event id: refused, never forwarded.
    BadSale,
}

impl Route {
    /// The route kind as a metrics label.
    pub fn label(self) -> &'static str {
        match self {
            Route::Health | Route::Metrics => "ops",
            Route::Public => "public",
            Route::Sale { .. } | Route::BadSale => "sale",
        }
    }
}

/// Classifies a request path (without its query string).
///
/// Anything whose first segment is `sale` is gated, whatever follows, so no spelling of a sale
/// path that the API might still route reaches it unchecked. The API routes on the raw path,
/// so a percent-encoded `sale` is not a sale route there either.
pub fn classify(path: &str) -> Route {
    match path {
        "/healthz" => return Route::Health,
        "/metrics" => return Route::Metrics,
        _ => {}
    }
    let Some(rest) = path.strip_prefix("/sale") else {
        return Route::Public;
    };
    if rest.is_empty() {
        return Route::BadSale;
    }
    let Some(rest) = rest.strip_prefix('/') else {
        // `/salesomething` is another first segment.
        return Route::Public;
    };
    let id = rest.split('/').next().unwrap_or_default();
    // Digits only: `parse` alone would take `+42`, which the API reads differently.
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
        return Route::BadSale;
    }
    id.parse()
        .map_or(Route::BadSale, |event| Route::Sale { event })
}

/// Name of the admission cookie.
pub const TOKEN_COOKIE: &str = "admission_token";
/// Name of the query parameter browsers use for WebSocket upgrades.
pub const TOKEN_QUERY: &str = "access_token";

/// The admission token of a request, from `Authorization: Bearer`, the `admission_token`
/// cookie, or the `access_token` query parameter, in that order. An empty value counts as
/// absent, so a later source may still supply one.
pub fn find_token<'a>(
    authorization: Option<&'a str>,
    cookies: impl IntoIterator<Item = &'a str>,
    query: Option<&'a str>,
) -> Option<&'a str> {
    let bearer = authorization.and_then(|value| {
        let (scheme, token) = value.trim().split_once(' ')?;
        scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| token.trim())
            .filter(|token| !token.is_empty())
    });
    bearer
        .or_else(|| {
            cookies
                .into_iter()
                .flat_map(|header| header.split(';'))
                .filter_map(|pair| pair.trim().split_once('='))
                .find(|(name, value)| *name == TOKEN_COOKIE && !value.is_empty())
                .map(|(_, value)| value.trim_matches('"'))
        })
        .or_else(|| {
            query?
                .split('&')
                .filter_map(|pair| pair.split_once('='))
                .find(|(name, value)| *name == TOKEN_QUERY && !value.is_empty())
                .map(|(_, value)| value)
        })
}

/// The path and query as access logs may show them: `access_token` values replaced by
/// `REDACTED`. Tokens never reach logs.
pub fn redact(path: &str, query: Option<&str>) -> String {
    let Some(query) = query else {
        return path.to_owned();
    };
    let mut out = String::with_capacity(path.len() + query.len() + 1);
    out.push_str(path);
    out.push('?');
    for (i, pair) in query.split('&').enumerate() {
        if i > 0 {
            out.push('&');
        }
        match pair.split_once('=') {
            Some((name, _)) if name.eq_ignore_ascii_case(TOKEN_QUERY) => {
                out.push_str(name);
                out.push_str("=REDACTED");
            }
            _ => out.push_str(pair),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sale_paths_name_their_event() {
        assert_eq!(classify("/sale/42/graphql"), Route::Sale { event: 42 });
        assert_eq!(classify("/sale/7"), Route::Sale { event: 7 });
        assert_eq!(classify("/sale/7/"), Route::Sale { event: 7 });
    }

    #[test]
    fn sale_paths_without_an_integer_event_are_bad_sale_routes() {
        for path in [
            "/sale",
            "/sale/",
            "/sale//graphql",
            "/sale/abc/graphql",
            "/sale/+42/graphql",
            "/sale/-1/graphql",
            "/sale/99999999999999999999/graphql",
        ] {
            assert_eq!(classify(path), Route::BadSale, "{path}");
        }
    }

    #[test]
    fn everything_else_is_public_except_the_gateways_own_endpoints() {
        assert_eq!(classify("/graphql"), Route::Public);
        assert_eq!(classify("/"), Route::Public);
        assert_eq!(classify("/assets/app.js"), Route::Public);
        assert_eq!(classify("/salesforce"), Route::Public);
        assert_eq!(classify("/webhooks/payments"), Route::Public);
        // Seat layouts are public (no fan's data): fans fetch them while they wait.
        assert_eq!(classify("/events/42/layout.json"), Route::Public);
        assert_eq!(classify("/events/42/layout/0123abcd.json"), Route::Public);
        assert_eq!(classify("/healthz"), Route::Health);
        assert_eq!(classify("/metrics"), Route::Metrics);
    }

    #[test]
    fn the_bearer_header_wins_over_the_cookie_and_the_query() {
        let token = find_token(
            Some("Bearer from-header"),
            ["admission_token=from-cookie"],
            Some("access_token=from-query"),
        );

        assert_eq!(token, Some("from-header"));
    }

    #[test]
    fn the_cookie_wins_over_the_query() {
        let token = find_token(
            None,
            ["theme=dark; admission_token=from-cookie; x=1"],
            Some("access_token=from-query"),
        );

        assert_eq!(token, Some("from-cookie"));
    }

    #[test]
    fn the_query_parameter_is_the_last_resort() {
        assert_eq!(
            find_token(None, [], Some("a=1&access_token=from-query&b=2")),
            Some("from-query")
        );
        assert_eq!(
            find_token(Some("Basic abc"), ["other=1"], Some("access_token=q")),
            Some("q")
        );
    }

    #[test]
    fn empty_or_missing_tokens_are_none() {
        assert_eq!(find_token(None, [], None), None);
        assert_eq!(
            find_token(Some("Bearer "), ["admission_token="], Some("access_token=")),
            None
        );
        assert_eq!(find_token(Some("bearer   t  "), [], None), Some("t"));
    }

    #[test]
    fn access_logs_never_show_a_query_token() {
        assert_eq!(
            redact("/sale/1/graphql", Some("x=1&access_token=secret.jwt&y=2")),
            "/sale/1/graphql?x=1&access_token=REDACTED&y=2"
        );
        assert_eq!(redact("/graphql", None), "/graphql");
        assert_eq!(redact("/graphql", Some("q=1")), "/graphql?q=1");
    }
}
