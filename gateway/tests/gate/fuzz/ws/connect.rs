//! Opening sockets through the gateway: the route's URL (the sale's token in the query), the
//! upgrade and what a refused one says, and the route's shared socket, acknowledged.

use std::fmt::Write as _;

use futures_util::{SinkExt as _, StreamExt as _};
use reqwest::header::HeaderValue;
use tokio_tungstenite::{
    connect_async,
    tungstenite::{self, Message, client::IntoClientRequest as _},
};

use super::Socket;
use crate::fuzz::{
    ANSWER_WITHIN, TOKEN_REFRESH, World, bump,
    checks::{busy, show},
    requests::percent_encode,
};

impl World {
    pub(super) fn socket_url(&self, sale: bool, token: Option<&[u8]>) -> String {
        let base = format!("ws://{}", self.gateway.address);
        if !sale {
            return format!("{base}/graphql");
        }
        let mut url = format!("{base}/sale/{}/graphql", self.event);
        if let Some(token) = token {
            let _ = write!(url, "?access_token={}", percent_encode(token));
        }
        url
    }

    pub(super) async fn connect(
        &mut self,
        url: &str,
        headers: Vec<(&'static str, HeaderValue)>,
    ) -> Result<Option<Socket>, String> {
        let Ok(mut request) = url.into_client_request() else {
            // The client cannot even send it (a 70 kB token in the URL): nothing to test.
            bump(&mut self.stats.dropped, "ws URL the client refuses");
            return Ok(None);
        };
        for (name, value) in headers {
            request.headers_mut().insert(name, value);
        }
        self.stats.sockets += 1;
        match tokio::time::timeout(ANSWER_WITHIN, connect_async(request)).await {
            Err(_) => Err(format!(
                "the upgrade had no answer within {ANSWER_WITHIN:?}"
            )),
            Ok(Ok((socket, _))) => Ok(Some(socket)),
            Ok(Err(tungstenite::Error::Http(response))) => {
                let status = response.status();
                bump(&mut self.stats.statuses, format!("ws {}", status.as_u16()));
                let body = response.body().clone().unwrap_or_default();
                if status.is_server_error()
                    && !busy(status.as_u16(), &String::from_utf8_lossy(&body))
                {
                    return Err(format!("upgrade refused with {status}: {}", show(&body)));
                }
                self.judge_text(&String::from_utf8_lossy(&body))?;
                Ok(None)
            }
            Ok(Err(error)) => {
                self.dropped(format!("ws upgrade: {error}")).await?;
                Ok(None)
            }
        }
    }

    /// The route's shared socket, open and acknowledged.
    pub(super) async fn shared_socket(&mut self, sale: bool) -> Result<Socket, String> {
        let open = if sale {
            self.sale_socket.take()
        } else {
            self.public_socket.take()
        };
        if let Some(socket) = open {
            return Ok(socket);
        }
        if self.fan.minted.elapsed() > TOKEN_REFRESH {
            self.new_fan().await;
        }
        for attempt in 0..2 {
            let url = self.socket_url(sale, Some(self.fan.admission.clone().as_bytes()));
            let protocol = HeaderValue::from_static("graphql-transport-ws");
            let Some(mut socket) = self
                .connect(&url, vec![("sec-websocket-protocol", protocol)])
                .await?
            else {
                // The admission ended (a payment, a revocation): a new fan, once.
                if attempt == 0 {
                    self.new_fan().await;
                    continue;
                }
                return Err("a fresh admission could not open the sale socket".to_owned());
            };
            let payload = if sale {
                "{}".to_owned()
            } else {
                format!("{{\"authorization\":\"Bearer {}\"}}", self.fan.access)
            };
            let init = format!("{{\"type\":\"connection_init\",\"payload\":{payload}}}");
            socket
                .send(Message::Text(init.into()))
                .await
                .map_err(|error| format!("sending connection_init: {error}"))?;
            let deadline = tokio::time::Instant::now() + ANSWER_WITHIN;
            loop {
                match tokio::time::timeout_at(deadline, socket.next()).await {
                    Ok(Some(Ok(Message::Text(text)))) if text.contains("connection_ack") => {
                        return Ok(socket);
                    }
                    Ok(Some(Ok(_))) => {}
                    other => {
                        return Err(format!("no connection_ack on a fresh socket: {other:?}"));
                    }
                }
            }
        }
        Err("no socket".to_owned())
    }
}
