//! [`Data`] on its way from a worker process to the coordinator: histograms travel as
//! base64 of HDR's V2-deflate encoding, and merge by addition on arrival.

use std::collections::BTreeMap;

use anyhow::Context as _;
use base64::Engine as _;
use hdrhistogram::{
    Histogram,
    serialization::{Deserializer, Serializer as _, V2DeflateSerializer},
};
use serde::{Deserialize, Serialize};

use super::{Data, FanRecord, WindowOp, histogram};

/// [`Data`] as a worker writes it for its coordinator.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct WireData {
    pub ops: BTreeMap<String, WireOp>,
    /// Base64 of V2-deflate HDR histograms.
    pub values: BTreeMap<String, String>,
    pub windows: BTreeMap<u32, BTreeMap<String, WindowOp>>,
    pub counters: BTreeMap<String, u64>,
    pub fans: Vec<FanRecord>,
}

/// One operation's totals on the wire.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct WireOp {
    pub latency: String,
    pub ok: u64,
    pub expected: BTreeMap<String, u64>,
    pub errors: BTreeMap<String, u64>,
}

fn encode(histogram: &Histogram<u64>) -> anyhow::Result<String> {
    let mut bytes = Vec::new();
    V2DeflateSerializer::new()
        .serialize(histogram, &mut bytes)
        .map_err(|error| anyhow::anyhow!("serializing a histogram: {error:?}"))?;
    Ok(base64::engine::general_purpose::STANDARD.encode(bytes))
}

fn decode(text: &str) -> anyhow::Result<Histogram<u64>> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .context("a histogram is not base64")?;
    Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .map_err(|error| anyhow::anyhow!("reading a histogram: {error:?}"))
}

impl Data {
    /// For the coordinator.
    pub fn to_wire(&self) -> anyhow::Result<WireData> {
        let mut ops = BTreeMap::new();
        for (name, op) in &self.ops {
            ops.insert(
                name.clone(),
                WireOp {
                    latency: encode(&op.latency)?,
                    ok: op.ok,
                    expected: op.expected.clone(),
                    errors: op.errors.clone(),
                },
            );
        }
        let mut values = BTreeMap::new();
        for (name, histogram) in &self.values {
            values.insert(name.clone(), encode(histogram)?);
        }
        Ok(WireData {
            ops,
            values,
            windows: self.windows.clone(),
            counters: self.counters.clone(),
            fans: self.fans.clone(),
        })
    }

    /// Adds a worker's data to this.
    pub fn merge_wire(&mut self, wire: WireData) -> anyhow::Result<()> {
        for (name, op) in wire.ops {
            let entry = self.ops.entry(name).or_default();
            entry
                .latency
                .add(decode(&op.latency)?)
                .map_err(|error| anyhow::anyhow!("merging histograms: {error:?}"))?;
            entry.ok += op.ok;
            for (code, n) in op.expected {
                *entry.expected.entry(code).or_default() += n;
            }
            for (code, n) in op.errors {
                *entry.errors.entry(code).or_default() += n;
            }
        }
        for (name, text) in wire.values {
            self.values
                .entry(name)
                .or_insert_with(histogram)
                .add(decode(&text)?)
                .map_err(|error| anyhow::anyhow!("merging histograms: {error:?}"))?;
        }
        for (second, ops) in wire.windows {
            let window = self.windows.entry(second).or_default();
            for (name, op) in ops {
                let entry = window.entry(name).or_default();
                entry.count += op.count;
                entry.errors += op.errors;
                for (code, n) in op.codes {
                    *entry.codes.entry(code).or_default() += n;
                }
                entry.latency.merge(&op.latency);
            }
        }
        for (name, n) in wire.counters {
            *self.counters.entry(name).or_default() += n;
        }
        self.fans.extend(wire.fans);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::{
        eta::{Band, EtaRecord, EtaSummary, Rise},
        metrics::{Outcome, Recorder, unix_ms},
    };

    #[test]
    fn data_survives_the_trip_to_the_coordinator_and_merges() {
        let recorder = Recorder::new(unix_ms());
        recorder.request("joinQueue", Duration::from_millis(2), Outcome::Ok);
        recorder.value("sub.lag", 1_500);
        recorder.count("fans.admitted", 2);
        recorder.fan(FanRecord {
            index: 1,
            ..FanRecord::default()
        });
        let wire = recorder.take().to_wire().expect("encodes");
        let text = serde_json::to_string(&wire).expect("serializes");

        let mut merged = Data::default();
        merged
            .merge_wire(serde_json::from_str(&text).expect("parses"))
            .expect("merges");
        merged
            .merge_wire(serde_json::from_str(&text).expect("parses"))
            .expect("merges");

        assert_eq!(merged.ops["joinQueue"].ok, 2);
        assert_eq!(merged.values["sub.lag"].len(), 2);
        assert_eq!(merged.counters["fans.admitted"], 4);
        assert_eq!(merged.fans.len(), 2);
    }

    #[test]
    fn eta_records_survive_the_trip_to_the_coordinator_and_merge() {
        let worker = |high_s: i64, waited_ms: f64| {
            let recorder = Recorder::new(unix_ms());
            let mut eta = EtaRecord::default();
            for (n, high_s) in [high_s, 2 * high_s].into_iter().enumerate() {
                let band = Band {
                    low_s: 10,
                    likely_s: Some(20),
                    high_s,
                    revised_ms: None,
                };
                eta.observe_band(Some(band), 1_000.0 * n as f64);
            }
            eta.admitted_ms = Some(waited_ms);
            recorder.fan(FanRecord {
                eta,
                ..FanRecord::default()
            });
            serde_json::to_string(&recorder.take().to_wire().expect("encodes")).expect("serializes")
        };

        let mut merged = Data::default();
        for text in [worker(30, 25_000.0), worker(40, 60_000.0)] {
            merged
                .merge_wire(serde_json::from_str(&text).expect("parses"))
                .expect("merges");
        }
        let summary = EtaSummary::of(&merged.fans);

        let first = merged.fans[0]
            .eta
            .first
            .expect("the first band made the trip");
        assert_eq!((first.seen_ms, first.band.high_s), (0.0, 30));
        assert_eq!((summary.judged, summary.inside, summary.later), (2, 1, 1));
        assert_eq!((summary.pairs, summary.rises), (2, 2));
        assert_eq!(
            summary.worst_rise,
            Some(Rise {
                from_s: 30,
                to_s: 60,
                revisions: 1
            })
        );
    }
}
