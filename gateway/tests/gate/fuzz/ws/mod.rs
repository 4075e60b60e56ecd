//! Strategies: WebSocket frames and cases (a socket of the case's own, or the route's shared
//! one). [`connect`] opens sockets through the gateway; [`send`] runs a case on one and reads
//! what comes back.

mod connect;
mod send;

use proptest::{
    arbitrary::any,
    collection::vec,
    option,
    strategy::{Just, Strategy},
};

use super::{
    requests::{Cred, cred, json_body, raw_body, scheme},
    values::{Env, Gen, one_of, pick},
    variables::json_wild,
};

pub(super) type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// An operation id on a socket: a fresh one per case, or something odd.
#[derive(Clone, Debug)]
enum WsId {
    Fresh,
    Json(String),
}

#[derive(Clone, Debug)]
enum Frame {
    Subscribe {
        id: WsId,
        payload: String,
        subscription: bool,
    },
    Text(String),
    Binary(Vec<u8>),
}

/// How a socket of its own opens (otherwise the case reuses the route's open socket).
#[derive(Clone, Debug)]
struct FreshSocket {
    protocol: Option<String>,
    /// Sale: the `access_token` query parameter; public: `connection_init`'s authorization.
    token: Option<Cred>,
    authorization: Option<(String, Cred)>,
    cookie: Option<Cred>,
    init: Init,
}

#[derive(Clone, Debug)]
enum Init {
    Normal,
    Payload(String),
    Missing,
    Twice,
}

#[derive(Clone, Debug)]
pub(super) struct WsCase {
    fresh: Option<FreshSocket>,
    frames: Vec<Frame>,
}

fn ws_id() -> Gen<WsId> {
    one_of(vec![
        (20, Just(WsId::Fresh).boxed()),
        (
            1,
            pick(&["\"\"", "1", "null", "[]", "\"c0\"", "\"\\u0000\""])
                .prop_map(WsId::Json)
                .boxed(),
        ),
    ])
}

fn frames(env: &Env) -> Gen<Vec<Frame>> {
    let subscribe = (ws_id(), json_body(env))
        .prop_map(|(id, body)| Frame::Subscribe {
            id,
            payload: String::from_utf8_lossy(&body.bytes).into_owned(),
            subscription: body.subscription,
        })
        .boxed();
    one_of(vec![
        (14, subscribe.clone().prop_map(|frame| vec![frame]).boxed()),
        (
            1,
            subscribe
                .prop_map(|frame| vec![frame.clone(), frame])
                .boxed(),
        ),
        (
            1,
            raw_body()
                .prop_map(|body| {
                    vec![Frame::Text(
                        String::from_utf8_lossy(&body.bytes).into_owned(),
                    )]
                })
                .boxed(),
        ),
        (
            1,
            vec(any::<u8>(), 0..64)
                .prop_map(|bytes| vec![Frame::Binary(bytes)])
                .boxed(),
        ),
        (
            1,
            pick(&[
                r#"{"type":"connection_init","payload":{}}"#,
                r#"{"type":"subscribe"}"#,
                r#"{"type":"subscribe","id":"x"}"#,
                r#"{"type":"subscribe","id":"x","payload":null}"#,
                r#"{"type":"next","id":"x","payload":{}}"#,
                r#"{"type":"complete","id":"nope"}"#,
                r#"{"type":"connection_ack"}"#,
                r#"{"type":"pong","payload":{"a":1}}"#,
                r#"{"type":"ping","payload":[[[[[]]]]]}"#,
                r#"{"type":"error","id":"x","payload":[]}"#,
                r#"{"type":"start","id":"x","payload":{"query":"{ __typename }"}}"#,
                r#"{"type":"connection_terminate"}"#,
                r#"{"type":"unknown"}"#,
                "{}",
                "[]",
                "null",
                "",
            ])
            .prop_map(|text| vec![Frame::Text(text)])
            .boxed(),
        ),
    ])
}

pub(super) fn ws_case(env: &Env) -> Gen<WsCase> {
    let init = one_of(vec![
        (6, Just(Init::Normal).boxed()),
        (2, json_wild(env).prop_map(Init::Payload).boxed()),
        (1, Just(Init::Missing).boxed()),
        (1, Just(Init::Twice).boxed()),
    ]);
    let protocol = one_of(vec![
        (10, Just(Some("graphql-transport-ws".to_owned())).boxed()),
        (1, Just(None).boxed()),
        (
            2,
            pick(&[
                "graphql-ws",
                "graphql-transport-ws, graphql-ws",
                "graphql-transport-ws\u{0}",
                "mqtt",
            ])
            .prop_map(Some)
            .boxed(),
        ),
    ]);
    let fresh = (
        protocol,
        option::weighted(0.9, cred()),
        option::weighted(0.2, (scheme(), cred())),
        option::weighted(0.1, cred()),
        init,
    )
        .prop_map(
            |(protocol, token, authorization, cookie, init)| FreshSocket {
                protocol,
                token,
                authorization,
                cookie,
                init,
            },
        );
    (option::weighted(0.15, fresh), frames(env))
        .prop_map(|(fresh, frames)| WsCase { fresh, frames })
        .boxed()
}
