//! CORS at the edge: which browser origins may call the API, and the headers of the answers
//! the gateway writes itself.
//!
//! The API answers CORS for whatever reaches it. The gateway answers preflights itself (a
//! preflight never carries an admission token, so on a sale route the gate would refuse it)
//! and marks its own refusals so that a browser app can read their code. The values below
//! must stay those of the API's `CorsLayer` (`graphql-api/src/http/cors.rs`): a preflight that
//! promises more than the API then allows only moves the browser's failure to the real call.

use pingora::http::{Method, RequestHeader};

/// Methods a browser app may use.
pub const ALLOW_METHODS: &str = "GET, POST";
/// Request headers a browser app may send.
pub const ALLOW_HEADERS: &str = "authorization, content-type, accept";
/// Response headers a browser app may read besides the always-readable ones.
pub const EXPOSE_HEADERS: &str = "retry-after";
/// How long a browser may reuse a preflight's answer, in seconds.
pub const MAX_AGE_SECS: &str = "600";

/// The origins allowed to call through the gateway from a browser (`cors_allowed_origins`).
#[derive(Clone, Debug, Default)]
pub struct AllowedOrigins {
    any: bool,
    /// Normalised as the API normalises them: trimmed, without a trailing `/`.
    origins: Vec<String>,
}

impl AllowedOrigins {
    /// Reads the configured entries: `*` allows any origin, anything else must be an origin
    /// (`scheme://host[:port]`). Blank entries are skipped and a trailing `/` is dropped, as
    /// the API does; an entry with a path could never equal a browser's `Origin`, so it is
    /// refused with its text rather than silently never matching.
    pub fn parse(entries: &[String]) -> Result<Self, String> {
        let mut allowed = Self::default();
        for entry in entries {
            let origin = entry.trim().trim_end_matches('/');
            if origin.is_empty() {
                continue;
            }
            if origin == "*" {
                allowed.any = true;
                continue;
            }
            if !looks_like_origin(origin) {
                return Err(format!(
                    "{entry:?} is not an origin like https://app.example (scheme://host[:port], \
                     no path) or `*`"
                ));
            }
            allowed.origins.push(origin.to_owned());
        }
        Ok(allowed)
    }

    /// No origin is allowed: CORS is off and browsers block cross-origin calls.
    pub fn is_off(&self) -> bool {
        !self.any && self.origins.is_empty()
    }

    /// The `Access-Control-Allow-Origin` value for a request from `origin`, if it is allowed.
    ///
    /// Compared byte for byte, as the API compares: a browser sends its origin in one
    /// canonical spelling, and a looser match here would pass preflights the API then fails.
    pub fn allow<'a>(&self, origin: &'a str) -> Option<&'a str> {
        if self.any {
            Some("*")
        } else {
            self.origins
                .iter()
                .any(|allowed| allowed == origin)
                .then_some(origin)
        }
    }

    /// The headers of the gateway's answer to a preflight from `origin`; none when the origin
    /// is not allowed, which is how the browser learns to block the call.
    pub fn preflight_headers(&self, origin: Option<&str>) -> Vec<(&'static str, String)> {
        let Some(allowed) = origin.and_then(|origin| self.allow(origin)) else {
            return Vec::new();
        };
        vec![
            ("access-control-allow-origin", allowed.to_owned()),
            ("access-control-allow-methods", ALLOW_METHODS.to_owned()),
            ("access-control-allow-headers", ALLOW_HEADERS.to_owned()),
            ("access-control-max-age", MAX_AGE_SECS.to_owned()),
            ("vary", "Origin".to_owned()),
        ]
    }

    /// The headers that let a browser app on `origin` read a refusal's body (its code) and
    /// `Retry-After`; none when the origin is not allowed.
    pub fn refusal_headers(&self, origin: Option<&str>) -> Vec<(&'static str, String)> {
        let Some(allowed) = origin.and_then(|origin| self.allow(origin)) else {
            return Vec::new();
        };
        vec![
            ("access-control-allow-origin", allowed.to_owned()),
            ("access-control-expose-headers", EXPOSE_HEADERS.to_owned()),
            ("vary", "Origin".to_owned()),
        ]
    }
}

/// `scheme://authority` and nothing after it.
fn looks_like_origin(text: &str) -> bool {
    let Some((scheme, authority)) = text.split_once("://") else {
        return false;
    };
    let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    let authority_ok = !authority.is_empty()
        && authority
            .chars()
            .all(|c| c.is_ascii_graphic() && !matches!(c, '/' | '?' | '#' | ','));
    scheme_ok && authority_ok
}

/// Whether a request is a CORS preflight: `OPTIONS` with `Origin` and
/// `Access-Control-Request-Method`. A plain `OPTIONS` is not one and is treated like any
/// other request.
pub fn is_preflight(request: &RequestHeader) -> bool {
    request.method == Method::OPTIONS
        && request.headers.contains_key("origin")
        && request
            .headers
            .contains_key("access-control-request-method")
}

/// The request's `Origin`, when it is readable text.
pub fn origin_of(request: &RequestHeader) -> Option<&str> {
    request.headers.get("origin")?.to_str().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origins(entries: &[&str]) -> AllowedOrigins {
        let entries: Vec<String> = entries.iter().map(|&entry| entry.to_owned()).collect();
        AllowedOrigins::parse(&entries).expect("valid origins")
    }

    fn request(method: &str, headers: &[(&'static str, &str)]) -> RequestHeader {
        let mut request =
            RequestHeader::build(method, b"/sale/1/graphql", None).expect("a request");
        for (name, value) in headers {
            request
                .insert_header(*name, *value)
                .expect("a valid header");
        }
        request
    }

    #[test]
    fn a_listed_origin_is_allowed_as_itself_and_others_are_not() {
        let allowed = origins(&["https://app.example", " https://other.example/ "]);

        assert!(!allowed.is_off());
        assert_eq!(
            allowed.allow("https://app.example"),
            Some("https://app.example")
        );
        assert_eq!(
            allowed.allow("https://other.example"),
            Some("https://other.example")
        );
        for refused in [
            "https://evil.example",
            "http://app.example",
            "https://app.example:8443",
            "https://app.example.evil.example",
            "https://APP.example",
            "null",
            "",
        ] {
            assert_eq!(allowed.allow(refused), None, "{refused}");
        }
    }

    #[test]
    fn a_star_allows_every_origin_with_a_star() {
        let allowed = origins(&["https://app.example", "*"]);

        assert_eq!(allowed.allow("https://anyone.example"), Some("*"));
        assert_eq!(allowed.allow("https://app.example"), Some("*"));
    }

    #[test]
    fn no_entries_or_blank_ones_mean_cors_is_off() {
        assert!(origins(&[]).is_off());
        assert!(origins(&["", "  "]).is_off());
        assert_eq!(origins(&[]).allow("https://app.example"), None);
    }

    #[test]
    fn entries_that_are_not_origins_are_refused_by_their_text() {
        for bad in [
            "app.example",
            "https://app.example/path",
            "https://",
            "https://app.example?x=1",
            "https://app example",
            "null",
        ] {
            let refused = AllowedOrigins::parse(&[bad.to_owned()]).expect_err(bad);
            assert!(refused.contains(bad.trim()), "{refused}");
        }
        assert!(AllowedOrigins::parse(&["http://127.0.0.1:5173".to_owned()]).is_ok());
    }

    #[test]
    fn a_preflight_is_options_with_an_origin_and_a_requested_method() {
        let preflight = [
            ("origin", "https://app.example"),
            ("access-control-request-method", "POST"),
        ];

        assert!(is_preflight(&request("OPTIONS", &preflight)));
        assert!(!is_preflight(&request("POST", &preflight)));
        assert!(!is_preflight(&request("OPTIONS", &preflight[..1])));
        assert!(!is_preflight(&request("OPTIONS", &preflight[1..])));
        assert!(!is_preflight(&request("OPTIONS", &[])));
    }

    #[test]
    fn the_origin_is_read_when_present() {
        let with = request("GET", &[("origin", "https://app.example")]);

        assert_eq!(origin_of(&with), Some("https://app.example"));
        assert_eq!(origin_of(&request("GET", &[])), None);
    }

    #[test]
    fn an_allowed_preflight_gets_the_apis_rules_and_a_refused_one_nothing() {
        let allowed = origins(&["https://app.example"]);

        let headers = allowed.preflight_headers(Some("https://app.example"));

        let value = |name: &str| {
            headers
                .iter()
                .find(|(header, _)| *header == name)
                .map(|(_, value)| value.as_str())
        };
        assert_eq!(
            value("access-control-allow-origin"),
            Some("https://app.example")
        );
        assert_eq!(value("access-control-allow-methods"), Some("GET, POST"));
        assert_eq!(
            value("access-control-allow-headers"),
            Some("authorization, content-type, accept")
        );
        assert_eq!(value("access-control-max-age"), Some("600"));
        assert_eq!(value("vary"), Some("Origin"));
        assert!(
            allowed
                .preflight_headers(Some("https://evil.example"))
                .is_empty()
        );
        assert!(allowed.preflight_headers(None).is_empty());
        assert!(
            origins(&[])
                .preflight_headers(Some("https://app.example"))
                .is_empty()
        );
    }

    #[test]
    fn a_refusal_is_readable_only_by_an_allowed_origin() {
        let allowed = origins(&["https://app.example"]);

        let headers = allowed.refusal_headers(Some("https://app.example"));

        assert!(headers.contains(&("access-control-allow-origin", "https://app.example".into())));
        assert!(headers.contains(&("access-control-expose-headers", "retry-after".into())));
        assert!(headers.contains(&("vary", "Origin".into())));
        assert!(
            allowed
                .refusal_headers(Some("https://evil.example"))
                .is_empty()
        );
        assert!(allowed.refusal_headers(None).is_empty());
    }
}
