//! Strategies: HTTP cases: the path, the body, the content type, credentials in the
//! authorization header, a cookie or the query, and an odd header now and then. [`bodies`] and
//! [`credentials`] serve WebSocket cases too; [`send`] sends a case through the gateway.

mod bodies;
mod credentials;
mod send;

use proptest::{
    option,
    sample::select,
    strategy::{Just, Strategy},
};

use self::bodies::Body;
pub(super) use self::{
    bodies::{json_body, raw_body},
    credentials::{Cred, cred, scheme},
    send::{header_value, percent_encode},
};
use super::values::{Env, Gen, one_of, pick};

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
