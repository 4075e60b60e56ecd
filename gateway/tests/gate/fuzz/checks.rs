//! Judging the answers (no 5xx, no `INTERNAL_ERROR`, both processes alive after a dropped
//! connection), learning ids from them, and reporting failures.

use std::{collections::BTreeMap, sync::Arc};

use serde_json::Value;

use super::{ANSWER_WITHIN, Kind, MAX_IDS, World, bump};

/// One request as sent, for reports.
pub(super) struct Sent {
    pub(super) description: String,
}

impl World {
    /// Both processes answer `/healthz`; an `Err` says which does not.
    pub(super) async fn healthy(&self) -> Result<(), String> {
        for (what, url) in [
            ("the API", format!("{}/healthz", self.app.base_url())),
            ("the gateway", format!("{}/healthz", self.gateway.url)),
        ] {
            let answer = tokio::time::timeout(ANSWER_WITHIN, self.http.get(&url).send()).await;
            match answer {
                Ok(Ok(response)) if response.status().is_success() => {}
                Ok(Ok(response)) => {
                    return Err(format!("{what}'s /healthz answered {}", response.status()));
                }
                Ok(Err(error)) => return Err(format!("{what}'s /healthz failed: {error}")),
                Err(_) => return Err(format!("{what}'s /healthz did not answer within 5 s")),
            }
        }
        Ok(())
    }

    /// A connection that ended without an answer is allowed only if both processes live.
    pub(super) async fn dropped(&mut self, what: String) -> Result<(), String> {
        bump(&mut self.stats.dropped, what.clone());
        let current = self.stats.current;
        self.stats
            .dropped_first
            .entry(what.clone())
            .or_insert(current);
        self.healthy().await.map_err(|error| {
            format!("the connection ended without an answer ({what}), and {error}")
        })
    }

    pub(super) fn judge_text(&mut self, text: &str) -> Result<(), String> {
        if text.contains("INTERNAL_ERROR") {
            return Err("INTERNAL_ERROR in the answer".to_owned());
        }
        if let Ok(value) = serde_json::from_str::<Value>(text) {
            collect_codes(&value, &mut self.stats.codes);
            // A WebSocket message's own `id` is ours: ids come from the payload.
            let answer = match (value.get("type"), value.get("payload")) {
                (Some(_), Some(payload)) => {
                    collect_codes(payload, &mut self.stats.codes);
                    payload
                }
                (Some(_), None) => &Value::Null,
                _ => &value,
            };
            let mut changed = harvest(answer, &mut self.ids, self.fixed_ids);
            changed |= remember_made(&answer["data"], &mut self.holds, &mut self.bookings);
            if changed {
                self.ids_version += 1;
            }
        }
        Ok(())
    }

    pub(super) fn judge_close(&mut self, close: Option<(u16, String)>) -> Result<(), String> {
        let (code, reason) = close.unwrap_or((1005, String::new()));
        bump(&mut self.stats.closes, code.to_string());
        // 1011 is WebSocket's "internal error", but async-graphql also closes with it when a
        // client subscribes before `connection_init` ("The handshake is not completed."):
        // counted in the summary, a failure only with INTERNAL_ERROR in the reason.
        if reason.contains("INTERNAL_ERROR") {
            return Err(format!(
                "the server closed the socket with {code} {reason:?}"
            ));
        }
        Ok(())
    }
}

/// Codes of a GraphQL answer, a WebSocket message's payload or a gateway refusal: each
/// counted once per answer (an answer of 2,000 aliases may repeat one 2,000 times).
fn collect_codes(value: &Value, codes: &mut BTreeMap<String, u64>) {
    let mut found = std::collections::BTreeSet::new();
    if let Some(code) = value["error"]["code"].as_str() {
        found.insert(code);
    }
    let errors = match value {
        Value::Array(errors) => Some(errors),
        _ => value["errors"].as_array(),
    };
    for error in errors.into_iter().flatten() {
        found.insert(error["extensions"]["code"].as_str().unwrap_or("<no code>"));
    }
    for code in found {
        bump(codes, code);
    }
}

/// Remembers ids from an answer, to use them in later arguments: the newest last, the
/// oldest beyond the first `keep` forgotten past [`MAX_IDS`]. Returns whether any was new.
pub(super) fn harvest(value: &Value, ids: &mut Vec<String>, keep: usize) -> bool {
    let mut added = false;
    match value {
        Value::Object(members) => {
            for (key, member) in members {
                if (key == "id" || key.ends_with("Id"))
                    && let Some(id) = member.as_str()
                    && id.len() <= 64
                    && !ids.iter().any(|known| known == id)
                {
                    if ids.len() >= MAX_IDS && ids.len() > keep {
                        ids.remove(keep);
                    }
                    ids.push(id.to_owned());
                    added = true;
                }
                added |= harvest(member, ids, keep);
            }
        }
        Value::Array(items) => {
            for item in items {
                added |= harvest(item, ids, keep);
            }
        }
        _ => {}
    }
    added
}

/// Remembers the holds and bookings an answer made or showed, newest first, so the next
/// steps of a purchase (book, pay, extend, cancel) name them. Returns whether any was new.
fn remember_made(data: &Value, holds: &mut Vec<String>, bookings: &mut Vec<String>) -> bool {
    let found = [
        (&data["lockSeats"]["id"], true),
        (&data["myHold"]["id"], true),
        (&data["extendHold"]["id"], true),
        (&data["createBooking"]["id"], false),
        (&data["booking"]["id"], false),
        (&data["confirmPayment"]["booking"]["id"], false),
    ];
    let mut changed = false;
    for (id, hold) in found {
        let Some(id) = id.as_str() else { continue };
        let made = if hold { &mut *holds } else { &mut *bookings };
        if made.first().map(String::as_str) != Some(id) {
            made.retain(|known| known != id);
            made.insert(0, id.to_owned());
            made.truncate(8);
            changed = true;
        }
    }
    changed
}

/// Shows bytes exactly: text as a Rust string literal, other bytes as a byte string.
pub(super) fn show(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => format!("{text:?}"),
        Err(_) => format!("b\"{}\"", bytes.escape_ascii()),
    }
}

/// A long line cut in the middle, for messages (the whole input is in the case file).
fn cut(line: &str) -> String {
    let count = line.chars().count();
    if count <= 3_000 {
        return line.to_owned();
    }
    let head: String = line.chars().take(2_000).collect();
    let tail: String = line.chars().skip(count - 500).collect();
    format!("{head} ...({} characters)... {tail}", count - 2_500)
}

/// The API's error log (it runs in this process), which says why an INTERNAL_ERROR happened.
#[derive(Clone, Default)]
pub(super) struct ApiLog(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for ApiLog {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .expect("the log buffer")
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl ApiLog {
    /// Starts collecting ERROR events of this process (if no one else collects them).
    pub(super) fn install() -> Self {
        let log = Self::default();
        let writer = log.clone();
        let _ = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::ERROR)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .try_init();
        log
    }

    /// What was logged since the last call.
    pub(super) fn take(&self) -> String {
        let bytes = std::mem::take(&mut *self.0.lock().expect("the log buffer"));
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

/// What kind of failure this is, to report each kind once: INTERNAL_ERROR by the field it
/// came from, anything else by its first words.
pub(super) fn signature_of(kind: Kind, failure: &str, logged: &str) -> String {
    let transport = if matches!(kind, Kind::PublicHttp | Kind::SaleHttp) {
        "HTTP"
    } else {
        "WS"
    };
    // The API's own words, when it logged them: `error=Variable b is not defined.`
    if let Some((_, cause)) = logged.split_once("error=") {
        let cause = cause.lines().next().unwrap_or_default();
        let cause = match cause
            .strip_prefix("Variable ")
            .and_then(|rest| rest.split_once(' '))
        {
            Some((_, rest)) => format!("Variable $… {rest}"),
            None => cause.to_owned(),
        };
        return format!("INTERNAL_ERROR over {transport}, logged as: {cause}");
    }
    if failure.starts_with("INTERNAL_ERROR") {
        let path = failure
            .split_once("\"path\":")
            .map(|(_, rest)| rest.split(']').next().unwrap_or_default().replace('\\', ""))
            .unwrap_or_default();
        return format!("INTERNAL_ERROR over {transport} at path {path}]");
    }
    let words: String = failure
        .chars()
        .take(60)
        .map(|c| if c.is_ascii_digit() { '#' } else { c })
        .collect();
    format!("{words} ({transport})")
}

pub(super) fn failure_report(
    (seed, number, kind): (u64, u64, Kind),
    sent: &Sent,
    failure: &str,
    logs: &str,
    case_file: &std::path::Path,
) -> String {
    let failure = cut(failure);
    // The gateway's last lines, without terminal colours.
    let tail: Vec<String> = logs
        .lines()
        .rev()
        .take(12)
        .map(|line| {
            let mut plain = String::new();
            let mut in_escape = false;
            for c in line.chars() {
                match (in_escape, c) {
                    (false, '\u{1b}') => in_escape = true,
                    (true, 'm') => in_escape = false,
                    (true, _) => {}
                    (false, c) => plain.push(c),
                }
            }
            plain.chars().take(400).collect()
        })
        .collect();
    let tail: Vec<String> = tail.into_iter().rev().collect();
    let input: Vec<String> = sent.description.lines().map(cut).collect();
    format!(
        "fuzz case {number} ({kind:?}) failed: {failure}\n\
         replay with FUZZ_SEED={seed} FUZZ_ONLY={number}\n\
         input (exactly, uncut, in {}):\n{}\n\
         the gateway's last log lines:\n{}",
        case_file.display(),
        input.join("\n"),
        tail.join("\n")
    )
}

/// A typed, retryable `BUSY` (503): the machine was loaded, which says nothing about how the
/// input was handled; the case counts in the statuses like any other answer.
pub(super) fn busy(status: u16, body: &str) -> bool {
    status == 503 && body.contains("\"BUSY\"")
}
