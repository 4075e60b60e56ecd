//! Strategies: request bodies, credentials, headers and paths for HTTP cases; and sending an
//! HTTP case through the gateway.

use std::fmt::Write as _;

use proptest::{
    arbitrary::any,
    collection::vec,
    option,
    sample::{Index, select},
    strategy::{Just, Strategy},
};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use super::{
    ANSWER_WITHIN, Kind, World, bump,
    checks::{Sent, show},
    documents::request,
    values::{Env, Gen, json_string, one_of, pick, text},
    variables::deep_json,
};

/// A request body: the bytes, and whether its document may subscribe.
#[derive(Clone, Debug)]
pub(super) struct Body {
    pub(super) bytes: Vec<u8>,
    pub(super) subscription: bool,
}

/// A GraphQL request as JSON, its members sometimes missing, wrong or repeated.
pub(super) fn json_body(env: &Env) -> Gen<Body> {
    request(env)
        .prop_flat_map(|(doc, variables)| {
            let query = one_of(vec![
                (40, Just(Some(json_string(&doc.text))).boxed()),
                (1, Just(None).boxed()),
                (
                    1,
                    pick(&["null", "123", "[\"{ __typename }\"]", "{}", "\"\"", "true"])
                        .prop_map(Some)
                        .boxed(),
                ),
            ]);
            let names: Vec<String> = doc.names.iter().map(|name| json_string(name)).collect();
            let mut operation_name = vec![
                (24, Just(None).boxed()),
                (1, pick(&["\"Op0\"", "\"Nope\""]).prop_map(Some).boxed()),
                (
                    1,
                    pick(&["null", "42", "\"\"", "\"Op\\u0000\"", "[\"Op0\"]"])
                        .prop_map(Some)
                        .boxed(),
                ),
                (1, text().prop_map(|raw| Some(json_string(&raw))).boxed()),
            ];
            if !names.is_empty() {
                operation_name.push((8, select(names).prop_map(Some).boxed()));
            }
            let operation_name = one_of(operation_name);
            let extensions = option::weighted(
                0.03,
                pick(&[
                    r#"{"persistedQuery":{"version":1,"sha256Hash":"ecf4edb46db40b5132295c0291d62fb65d6759a9eedfa4d5d612dd5ec54a6b38"}}"#,
                    "null",
                    "[]",
                    "{\"a\":{\"b\":{}}}",
                ]),
            );
            let repeated = option::weighted(
                0.02,
                pick(&[r#""query":"{ __typename }""#, r#""variables":null"#, r#""query":null"#]),
            );
            let subscription = doc.subscription || doc.text.contains("subscription");
            (query, operation_name, extensions, repeated).prop_map(
                move |(query, name, extensions, repeated)| {
                    let mut members = Vec::new();
                    if let Some(query) = query {
                        members.push(format!("\"query\":{query}"));
                    }
                    if let Some(variables) = &variables {
                        members.push(format!("\"variables\":{variables}"));
                    }
                    if let Some(name) = name {
                        members.push(format!("\"operationName\":{name}"));
                    }
                    if let Some(extensions) = extensions {
                        members.push(format!("\"extensions\":{extensions}"));
                    }
                    members.extend(repeated);
                    Body {
                        bytes: format!("{{{}}}", members.join(",")).into_bytes(),
                        subscription,
                    }
                },
            )
        })
        .boxed()
}

/// Bodies that are not a GraphQL request: bytes, text, wrong JSON shapes, deep JSON.
pub(super) fn raw_body() -> Gen<Body> {
    one_of(vec![
        (2, vec(any::<u8>(), 0..512).boxed()),
        (2, "\\PC{0,200}".prop_map(String::into_bytes).boxed()),
        (
            3,
            pick(&[
                "",
                "null",
                "[]",
                "{}",
                "\"{ __typename }\"",
                "[{\"query\":\"{ __typename }\"}]",
                "{\"query\":\"{ __typename }\"",
                "{\"query\":\"{ __typename }\"}}",
                "{'query': '{ __typename }'}",
                "query=%7B__typename%7D",
                "{ __typename }",
                "\u{feff}{\"query\":\"{ __typename }\"}",
                "{\"query\":\"{ __typename }\"}\u{0}",
                "{\"query\":\"\\ud800\"}",
                "{\"query\":\"{ __typename }\",\"variables\":{\"a\":1e999999}}",
                "{\"query\":\"x\",\"query\":\"y\"}",
            ])
            .prop_map(String::into_bytes)
            .boxed(),
        ),
        (
            1,
            deep_json()
                .prop_map(|deep| {
                    format!("{{\"query\":\"query($v0: ID) {{ __typename }}\",\"variables\":{{\"v0\":{deep}}}}}")
                        .into_bytes()
                })
                .boxed(),
        ),
        (1, deep_json().prop_map(String::into_bytes).boxed()),
        (
            1,
            (250_000usize..270_000)
                .prop_map(|size| format!("{{\"query\":\"{{{}__typename }}\"}}", " ".repeat(size)).into_bytes())
                .boxed(),
        ),
    ])
    .prop_map(|bytes| Body {
        bytes,
        subscription: false,
    })
    .boxed()
}

/// A credential, resolved against the tokens of the moment when the case is sent.
#[derive(Clone, Debug)]
pub(super) enum Cred {
    /// The route's own valid token: the admission on sale routes, the fan's access token on
    /// the public one.
    Valid,
    /// An admin's access token.
    Admin,
    /// The other kind of valid token.
    OtherKind,
    /// The valid token with one byte XOR-ed.
    Flipped(Index, u8),
    /// The valid token cut short.
    Truncated(Index),
    /// Three random base64url parts.
    Triple(String, String, String),
    /// The valid token's claims under an `alg: none` header, unsigned.
    AlgNone,
    /// The valid token's claims and signature under an `HS512` header.
    AlgSwap,
    /// The valid token repeated to about this many bytes.
    Huge(usize),
    Text(String),
}

pub(super) fn cred() -> Gen<Cred> {
    one_of(vec![
        (80, Just(Cred::Valid).boxed()),
        (2, Just(Cred::Admin).boxed()),
        (1, Just(Cred::OtherKind).boxed()),
        (
            2,
            (any::<Index>(), 1u8..=255)
                .prop_map(|(at, xor)| Cred::Flipped(at, xor))
                .boxed(),
        ),
        (1, any::<Index>().prop_map(Cred::Truncated).boxed()),
        (
            1,
            (
                "[A-Za-z0-9_-]{0,40}",
                "[A-Za-z0-9_-]{0,80}",
                "[A-Za-z0-9_=+/-]{0,60}",
            )
                .prop_map(|(a, b, c)| Cred::Triple(a, b, c))
                .boxed(),
        ),
        (1, Just(Cred::AlgNone).boxed()),
        (1, Just(Cred::AlgSwap).boxed()),
        (
            1,
            select(vec![10_240usize, 9_000, 12_000, 70_000])
                .prop_map(Cred::Huge)
                .boxed(),
        ),
        (1, text().prop_map(Cred::Text).boxed()),
    ])
}

pub(super) fn scheme() -> Gen<String> {
    one_of(vec![
        (30, pick(&["Bearer "])),
        (
            1,
            pick(&[
                "bearer ", "", "Basic ", "Bearer  ", "Bearer\t", "Token ", "Bearer",
            ]),
        ),
    ])
}

#[derive(Clone, Debug)]
pub(super) struct HttpCase {
    /// Another path than the route's own.
    path: Option<String>,
    body: Body,
    content_type: Option<String>,
    authorization: Option<(String, Cred)>,
    cookie: Option<Cred>,
    query_token: Option<Cred>,
    header: Option<(String, String)>,
}

fn content_type() -> Gen<Option<String>> {
    one_of(vec![
        (16, Just(Some("application/json".to_owned())).boxed()),
        (1, Just(None).boxed()),
        (
            3,
            pick(&[
                "text/plain",
                "application/graphql",
                "application/json; charset=utf-16",
                "application/json; charset=\"",
                "multipart/form-data; boundary=x",
                "application/x-www-form-urlencoded",
                "application/graphql-response+json",
                "*/*",
                "",
            ])
            .prop_map(Some)
            .boxed(),
        ),
        (1, "\\PC{0,40}".prop_map(Some).boxed()),
    ])
}

fn extra_header() -> Gen<Option<(String, String)>> {
    let pairs: Vec<(String, String)> = [
        ("connection", "upgrade"),
        ("upgrade", "websocket"),
        ("content-encoding", "gzip"),
        ("accept", "text/event-stream"),
        ("accept", "application/graphql-response+json"),
        ("x-forwarded-for", "1.2.3.4, not-an-ip"),
        ("x-fan-id", "someone-else"),
        ("origin", "https://evil.example"),
        ("expect", "100-continue"),
        ("sec-websocket-protocol", "graphql-transport-ws"),
    ]
    .iter()
    .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
    .collect();
    option::weighted(0.08, select(pairs)).boxed()
}

fn path(sale: bool) -> Gen<Option<String>> {
    let others: &[&'static str] = if sale {
        &[
            "/sale/{other}/graphql",
            "/sale/0/graphql",
            "/sale/-1/graphql",
            "/sale/99999999999999999999/graphql",
            "/sale/abc/graphql",
            "/sale/%00/graphql",
            "/sale//graphql",
            "/sale/{event}/graphql/",
            "/sale/{event}/graphql/x",
            "/sale/{event}%2Fgraphql",
            "/sale/{event}/graphql?access_token=",
        ]
    } else {
        &[
            "/graphql/",
            "/GRAPHQL",
            "/graphql?x=1",
            "/graphql;a=1",
            "//graphql",
            "/graphql%00",
        ]
    };
    one_of(vec![
        (20, Just(None).boxed()),
        (1, pick(others).prop_map(Some).boxed()),
    ])
}

pub(super) fn http_case(env: &Env) -> Gen<HttpCase> {
    let body = one_of(vec![(12, json_body(env)), (1, raw_body())]);
    let authorization = option::weighted(if env.sale { 0.9 } else { 0.7 }, (scheme(), cred()));
    let cookie = option::weighted(if env.sale { 0.1 } else { 0.05 }, cred());
    let query_token = option::weighted(0.08, cred());
    (
        path(env.sale),
        body,
        content_type(),
        authorization,
        cookie,
        query_token,
        extra_header(),
    )
        .prop_map(
            |(path, body, content_type, authorization, cookie, query_token, header)| HttpCase {
                path,
                body,
                content_type,
                authorization,
                cookie,
                query_token,
                header,
            },
        )
        .boxed()
}

fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

pub(super) fn percent_encode(bytes: &[u8]) -> String {
    let mut out = String::new();
    for byte in bytes {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(byte) {
            out.push(char::from(*byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

/// A header value from any bytes (the ones no header may hold become `?`).
pub(super) fn header_value(bytes: &[u8]) -> HeaderValue {
    HeaderValue::from_bytes(bytes).unwrap_or_else(|_| {
        let cleaned: Vec<u8> = bytes
            .iter()
            .map(|&b| {
                if (b < 0x20 && b != b'\t') || b == 0x7f {
                    b'?'
                } else {
                    b
                }
            })
            .collect();
        HeaderValue::from_bytes(&cleaned).expect("a cleaned header value")
    })
}

impl World {
    pub(super) fn resolve(&self, cred: &Cred, sale: bool) -> Vec<u8> {
        let (valid, other) = if sale {
            (&self.fan.admission, &self.fan.access)
        } else {
            (&self.fan.access, &self.fan.admission)
        };
        let parts: Vec<&str> = valid.split('.').collect();
        let payload = parts.get(1).copied().unwrap_or_default();
        let signature = parts.get(2).copied().unwrap_or_default();
        match cred {
            Cred::Valid => valid.clone().into_bytes(),
            Cred::Admin => self.fan.admin.clone().into_bytes(),
            Cred::OtherKind => other.clone().into_bytes(),
            Cred::Flipped(at, xor) => {
                let mut bytes = valid.clone().into_bytes();
                let at = at.index(bytes.len());
                bytes[at] ^= xor;
                bytes
            }
            Cred::Truncated(at) => valid.as_bytes()[..at.index(valid.len())].to_vec(),
            Cred::Triple(a, b, c) => format!("{a}.{b}.{c}").into_bytes(),
            Cred::AlgNone => {
                format!("{}.{payload}.", base64url(br#"{"alg":"none","typ":"JWT"}"#)).into_bytes()
            }
            Cred::AlgSwap => format!(
                "{}.{payload}.{signature}",
                base64url(br#"{"alg":"HS512","typ":"JWT"}"#)
            )
            .into_bytes(),
            Cred::Huge(size) => valid.repeat(size / valid.len().max(1) + 1).into_bytes(),
            Cred::Text(text) => text.clone().into_bytes(),
        }
    }

    pub(super) async fn http(
        &mut self,
        number: u64,
        kind: Kind,
        case: &HttpCase,
    ) -> Result<Sent, (Sent, String)> {
        let sale = kind.sale();
        let route = if sale {
            format!("/sale/{}/graphql", self.event)
        } else {
            "/graphql".to_owned()
        };
        let path = case
            .path
            .as_deref()
            .unwrap_or(&route)
            .replace("{event}", &self.event.to_string())
            .replace("{other}", &self.other_event.to_string());
        let mut url = format!("{}{path}", self.gateway.url);
        if let Some(cred) = &case.query_token {
            let separator = if url.contains('?') { '&' } else { '?' };
            let _ = write!(
                url,
                "{separator}access_token={}",
                percent_encode(&self.resolve(cred, sale))
            );
        }
        let mut headers = HeaderMap::new();
        if let Some(content_type) = &case.content_type {
            headers.insert("content-type", header_value(content_type.as_bytes()));
        }
        if let Some((scheme, cred)) = &case.authorization {
            let mut value = scheme.clone().into_bytes();
            value.extend(self.resolve(cred, sale));
            headers.insert("authorization", header_value(&value));
        }
        if let Some(cred) = &case.cookie {
            let mut value = b"theme=dark; admission_token=".to_vec();
            value.extend(self.resolve(cred, sale));
            headers.insert("cookie", header_value(&value));
        }
        if let Some((name, value)) = &case.header
            && let Ok(name) = HeaderName::from_bytes(name.as_bytes())
        {
            headers.append(name, header_value(value.as_bytes()));
        }
        let mut description = format!("POST {url}\n");
        for (name, value) in &headers {
            let _ = writeln!(description, "{name}: {}", show(value.as_bytes()));
        }
        let _ = write!(description, "\n{}", show(&case.body.bytes));
        self.record(number, kind, &description);
        let sent = Sent { description };

        let request = self
            .http
            .post(&url)
            .headers(headers)
            .body(case.body.bytes.clone());
        let answer = tokio::time::timeout(ANSWER_WITHIN, async {
            let response = request.send().await?;
            let status = response.status();
            let body = response.bytes().await?;
            Ok::<_, reqwest::Error>((status, body))
        })
        .await;
        let (status, body) = match answer {
            Err(_) => return Err((sent, "no answer within 5 s".to_owned())),
            Ok(Err(error)) => {
                let what = if error.is_connect() {
                    "connect"
                } else if error.is_body() {
                    "body"
                } else {
                    "request"
                };
                return match self.dropped(format!("http {what}")).await {
                    Ok(()) => Ok(sent),
                    Err(failure) => Err((sent, format!("{failure}: {error}"))),
                };
            }
            Ok(Ok(answer)) => answer,
        };
        bump(&mut self.stats.statuses, status.as_u16().to_string());
        let text = String::from_utf8_lossy(&body).into_owned();
        if self.verbose {
            let request: String = String::from_utf8_lossy(&case.body.bytes)
                .chars()
                .take(300)
                .collect();
            let answer: String = text.chars().take(300).collect();
            println!(
                "fuzz: case {number} {kind:?} > {request}\nfuzz: case {number} {kind:?} {status} {answer}"
            );
        }
        if status.is_server_error() {
            return Err((sent, format!("status {status}: {text}")));
        }
        if let Err(failure) = self.judge_text(&text) {
            return Err((sent, format!("{failure} (status {status}): {text}")));
        }
        // A revoked or expired admission (a payment ends it; an admin may revoke it):
        // admit a new fan, so later cases reach the sale schema again.
        if sale
            && matches!(case.authorization, Some((_, Cred::Valid)))
            && (text.contains("TOKEN_REVOKED") || text.contains("TOKEN_EXPIRED"))
        {
            self.new_fan().await;
        }
        Ok(sent)
    }
}
