//! Sending a WebSocket case: its own socket opened its way (or the shared one), its frames
//! and a ping, and reading until the pong and the answer (or a close), judging each message.

use std::{
    fmt::Write as _,
    time::{Duration, Instant},
};

use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;

use super::{Frame, Init, Socket, WsCase, WsId};
use crate::fuzz::{
    ANSWER_WITHIN, Kind, STREAM_GRACE, World, bump,
    checks::{Sent, show},
    requests::header_value,
    values::json_string,
};

impl World {
    pub(in crate::fuzz) async fn ws(
        &mut self,
        number: u64,
        kind: Kind,
        case: &WsCase,
    ) -> Result<Sent, (Sent, String)> {
        let sale = kind.sale();
        let id = format!("c{number}");
        let mut messages = Vec::new();
        let mut description = String::new();
        let (mut waits_for, mut subscription) = (None, false);

        // A socket of the case's own, opened its way, or the route's shared one.
        let mut init_messages = Vec::new();
        let mut connection = None;
        if let Some(fresh) = &case.fresh {
            let token = fresh.token.as_ref().map(|cred| self.resolve(cred, sale));
            let url = self.socket_url(sale, token.as_deref().filter(|_| sale));
            let mut headers = Vec::new();
            if let Some(protocol) = &fresh.protocol {
                headers.push(("sec-websocket-protocol", header_value(protocol.as_bytes())));
            }
            if let Some((scheme, cred)) = &fresh.authorization {
                let mut value = scheme.clone().into_bytes();
                value.extend(self.resolve(cred, sale));
                headers.push(("authorization", header_value(&value)));
            }
            if let Some(cred) = &fresh.cookie {
                let mut value = b"admission_token=".to_vec();
                value.extend(self.resolve(cred, sale));
                headers.push(("cookie", header_value(&value)));
            }
            let payload = match (&fresh.init, sale, &token) {
                (Init::Payload(payload), _, _) => payload.clone(),
                (_, false, Some(token)) => format!(
                    "{{\"authorization\":{}}}",
                    json_string(&format!("Bearer {}", String::from_utf8_lossy(token)))
                ),
                _ => "{}".to_owned(),
            };
            let init = format!("{{\"type\":\"connection_init\",\"payload\":{payload}}}");
            match fresh.init {
                Init::Missing => {}
                Init::Twice => init_messages.extend([init.clone(), init]),
                Init::Normal | Init::Payload(_) => init_messages.push(init),
            }
            let _ = writeln!(description, "GET {url} (a socket of its own)");
            for (name, value) in &headers {
                let _ = writeln!(description, "{name}: {}", show(value.as_bytes()));
            }
            for init in &init_messages {
                let _ = writeln!(description, "> {}", show(init.as_bytes()));
            }
            self.record(number, kind, &description);
            match self.connect(&url, headers).await {
                Ok(Some(socket)) => connection = Some(socket),
                Ok(None) => return Ok(Sent { description }),
                Err(failure) => return Err((Sent { description }, failure)),
            }
        } else {
            let _ = writeln!(
                description,
                "on the shared {} socket",
                if sale { "sale" } else { "public" }
            );
        }
        for frame in &case.frames {
            match frame {
                Frame::Subscribe {
                    id: frame_id,
                    payload,
                    subscription: subscribes,
                } => {
                    let id_json = match frame_id {
                        WsId::Fresh => {
                            waits_for = Some(id.clone());
                            json_string(&id)
                        }
                        WsId::Json(json) => json.clone(),
                    };
                    subscription |= *subscribes;
                    let text = format!(
                        "{{\"id\":{id_json},\"type\":\"subscribe\",\"payload\":{payload}}}"
                    );
                    let _ = writeln!(description, "> {}", show(text.as_bytes()));
                    messages.push(Message::Text(text.into()));
                }
                Frame::Text(text) => {
                    let _ = writeln!(description, "> {}", show(text.as_bytes()));
                    messages.push(Message::Text(text.clone().into()));
                }
                Frame::Binary(bytes) => {
                    let _ = writeln!(description, "> binary {bytes:?}");
                    messages.push(Message::Binary(bytes.clone().into()));
                }
            }
        }
        self.record(number, kind, &description);
        if self.verbose {
            for line in description.lines() {
                println!(
                    "fuzz: case {number} {kind:?} {}",
                    line.chars().take(300).collect::<String>()
                );
            }
        }
        let fresh = connection.is_some();
        let mut socket = match connection {
            Some(socket) => socket,
            None => match self.shared_socket(sale).await {
                Ok(socket) => socket,
                Err(failure) => return Err((Sent { description }, failure)),
            },
        };
        if fresh {
            // Let the server take the init (and answer it) before anything else.
            for init in init_messages {
                if socket.send(Message::Text(init.into())).await.is_err() {
                    break;
                }
            }
            if matches!(
                case.fresh.as_ref().map(|f| &f.init),
                Some(Init::Normal | Init::Payload(_))
            ) {
                let deadline = tokio::time::Instant::now() + ANSWER_WITHIN;
                loop {
                    match tokio::time::timeout_at(deadline, socket.next()).await {
                        Err(_) => {
                            return Err((
                                Sent { description },
                                "no answer to connection_init within 5 s".to_owned(),
                            ));
                        }
                        Ok(Some(Ok(Message::Text(text)))) => {
                            if let Err(failure) = self.judge_text(&text) {
                                return Err((Sent { description }, format!("{failure}: {text}")));
                            }
                            if text.contains("connection_ack") {
                                break;
                            }
                        }
                        Ok(Some(Ok(Message::Close(frame)))) => {
                            let close = frame.map(|f| (u16::from(f.code), f.reason.to_string()));
                            if let Err(failure) = self.judge_close(close) {
                                return Err((Sent { description }, failure));
                            }
                            return Ok(Sent { description });
                        }
                        Ok(Some(Ok(_))) => {}
                        Ok(None | Some(Err(_))) => {
                            return match self.dropped("ws after init".to_owned()).await {
                                Ok(()) => Ok(Sent { description }),
                                Err(failure) => Err((Sent { description }, failure)),
                            };
                        }
                    }
                }
            }
        }
        let outcome = self
            .exchange(&mut socket, messages, waits_for.clone(), subscription)
            .await;
        let open = match outcome {
            Ok(open) => open,
            Err(failure) => return Err((Sent { description }, failure)),
        };
        if open && let Some(id) = &waits_for {
            // Ends a subscription that may still run, so the socket's slots stay free.
            let complete = format!("{{\"id\":{},\"type\":\"complete\"}}", json_string(id));
            let _ = socket.send(Message::Text(complete.into())).await;
        }
        if fresh {
            let _ = tokio::time::timeout(Duration::from_secs(1), socket.close(None)).await;
        } else if open {
            if sale {
                self.sale_socket = Some(socket);
            } else {
                self.public_socket = Some(socket);
            }
        }
        Ok(Sent { description })
    }

    /// Sends the case's frames and a ping; reads until the pong and the answer to `waits_for`
    /// (or a close). Returns whether the socket is still open.
    async fn exchange(
        &mut self,
        socket: &mut Socket,
        messages: Vec<Message>,
        waits_for: Option<String>,
        subscription: bool,
    ) -> Result<bool, String> {
        let oversize = messages.iter().any(|message| message.len() > 64 * 1024);
        for message in messages {
            if socket.send(message).await.is_err() {
                // The server closed it already (an earlier frame was refused): read why.
                break;
            }
        }
        let _ = socket
            .send(Message::Text("{\"type\":\"ping\"}".into()))
            .await;
        let deadline = Instant::now() + ANSWER_WITHIN;
        let mut pong_at: Option<Instant> = None;
        let mut answered = waits_for.is_none();
        loop {
            if pong_at.is_some() && answered {
                return Ok(true);
            }
            let until = match pong_at {
                Some(at) if subscription => (at + STREAM_GRACE).min(deadline),
                _ => deadline,
            };
            match tokio::time::timeout_at(until.into(), socket.next()).await {
                Err(_) if pong_at.is_some() && subscription => return Ok(true),
                Err(_) => {
                    let missing = if pong_at.is_none() { "pong" } else { "answer" };
                    return Err(format!("no {missing} within {ANSWER_WITHIN:?}"));
                }
                Ok(None) => {
                    self.dropped("ws end without close".to_owned()).await?;
                    return Ok(false);
                }
                Ok(Some(Err(error))) => {
                    let after = if oversize {
                        " after a message over 64 KiB"
                    } else {
                        ""
                    };
                    self.dropped(format!("ws error{after}: {error}")).await?;
                    return Ok(false);
                }
                Ok(Some(Ok(Message::Close(frame)))) => {
                    self.judge_close(frame.map(|f| (u16::from(f.code), f.reason.to_string())))?;
                    return Ok(false);
                }
                Ok(Some(Ok(Message::Text(text)))) => {
                    self.judge_text(&text)
                        .map_err(|failure| format!("{failure}: {text}"))?;
                    let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                    let ty = value["type"].as_str().unwrap_or("<not JSON>");
                    if self.verbose {
                        println!(
                            "fuzz: case {} ws < {}",
                            self.stats.current,
                            text.chars().take(300).collect::<String>()
                        );
                    }
                    bump(&mut self.stats.frames, ty);
                    if ty == "pong" {
                        pong_at = Some(Instant::now());
                    }
                    if waits_for
                        .as_deref()
                        .is_some_and(|id| value["id"].as_str() == Some(id))
                        && matches!(ty, "next" | "error" | "complete")
                    {
                        answered = true;
                    }
                }
                Ok(Some(Ok(_))) => {}
            }
        }
    }
}
