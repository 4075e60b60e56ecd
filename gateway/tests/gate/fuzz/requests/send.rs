//! Sending an HTTP case through the gateway and judging the answer; and putting any bytes
//! into a URL or a header.

use std::fmt::Write as _;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use super::{Cred, HttpCase};
use crate::fuzz::{
    ANSWER_WITHIN, Kind, World, bump,
    checks::{Sent, busy, show},
};

impl World {
    pub(in crate::fuzz) async fn http(
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
        if status.is_server_error() && !busy(status.as_u16(), &text) {
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

pub(in crate::fuzz) fn percent_encode(bytes: &[u8]) -> String {
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
pub(in crate::fuzz) fn header_value(bytes: &[u8]) -> HeaderValue {
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
