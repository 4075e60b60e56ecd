//! What a run counts (statuses, codes, frames, closes, dropped connections, the slowest case)
//! and what the database holds afterwards, written as the summary printed at the end.

use std::{collections::BTreeMap, time::Duration};

use graphql_api::testing::scalar;

use super::World;

#[derive(Default)]
pub(super) struct Stats {
    pub(super) kinds: BTreeMap<&'static str, u64>,
    /// HTTP statuses, and WebSocket upgrades refused (`ws 401`).
    pub(super) statuses: BTreeMap<String, u64>,
    /// Error codes in answers: `errors[].extensions.code`, gateway `error.code`.
    pub(super) codes: BTreeMap<String, u64>,
    /// WebSocket messages received, by type.
    pub(super) frames: BTreeMap<String, u64>,
    /// WebSocket closes, by code.
    pub(super) closes: BTreeMap<String, u64>,
    /// Connections that ended without an answer (each followed by a health check).
    pub(super) dropped: BTreeMap<String, u64>,
    /// The first case each kind of dropped connection happened in.
    pub(super) dropped_first: BTreeMap<String, u64>,
    /// The case being run.
    pub(super) current: u64,
    /// ERROR lines the API logged.
    pub(super) api_errors: u64,
    pub(super) sockets: u64,
    pub(super) slowest: (Duration, u64),
}

pub(super) fn bump(map: &mut BTreeMap<String, u64>, key: impl Into<String>) {
    *map.entry(key.into()).or_default() += 1;
}

fn summary(map: &BTreeMap<String, u64>) -> String {
    let items: Vec<String> = map
        .iter()
        .map(|(key, count)| format!("{key}: {count}"))
        .collect();
    format!("{{{}}}", items.join(", "))
}

impl World {
    /// Counts of what happened in the database, for the summary.
    pub(super) async fn sales(&self) -> String {
        let db = &self.app.db.connection;
        let mut counts = Vec::new();
        for sql in [
            "SELECT count(*) FROM holds",
            "SELECT count(*) FROM bookings",
            "SELECT count(*) FROM bookings WHERE status = 'CONFIRMED'",
            "SELECT count(*) FROM payments",
            "SELECT count(*) FROM payments WHERE status = 'SUCCEEDED'",
            "SELECT count(*) FROM seats WHERE status = 'BOOKED'",
        ] {
            counts.push(scalar(db, sql).await);
        }
        format!(
            "holds {}, bookings {} ({} confirmed), payments {} ({} succeeded), seats booked {}",
            counts[0], counts[1], counts[2], counts[3], counts[4], counts[5]
        )
    }

    pub(super) fn summary(&self, cases: u64, seed: u64, elapsed: Duration) -> String {
        let stats = &self.stats;
        let kinds: Vec<String> = [
            ("public HTTP", "PublicHttp"),
            ("sale HTTP", "SaleHttp"),
            ("public WS", "PublicWs"),
            ("sale WS", "SaleWs"),
        ]
        .iter()
        .map(|(label, key)| format!("{} {label}", stats.kinds.get(key).copied().unwrap_or(0)))
        .collect();
        format!(
            "fuzz: {cases} cases ({}), seed {seed}, {:.1} s, statuses {}, codes {}, ws frames {}, \
             ws closes {}, sockets opened {}, dropped connections {}, API errors logged {}, \
             slowest case {} at {:.0} ms",
            kinds.join(", "),
            elapsed.as_secs_f64(),
            summary(&stats.statuses),
            summary(&stats.codes),
            summary(&stats.frames),
            summary(&stats.closes),
            stats.sockets,
            summary(
                &stats
                    .dropped
                    .iter()
                    .map(|(what, count)| {
                        let first = stats.dropped_first.get(what).copied().unwrap_or_default();
                        (format!("{what} (first in case {first})"), *count)
                    })
                    .collect()
            ),
            stats.api_errors,
            stats.slowest.1,
            stats.slowest.0.as_secs_f64() * 1e3,
        )
    }
}
