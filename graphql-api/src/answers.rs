//! Finished answers kept as bytes and shared by every request that asked the same thing at
//! the same moment (the seat map when a sale opens), with a gzipped copy made once.

use std::io::Write as _;

use axum::body::Bytes;
use tokio::sync::OnceCell;

/// One answer shared by every fan who asked the same at the same sequence.
#[derive(Debug)]
pub struct SharedAnswer {
    json: Bytes,
    gzip: OnceCell<Bytes>,
}

impl SharedAnswer {
    /// Keeps an answer's JSON; it is compressed only if someone asks for gzip.
    pub fn new(json: Bytes) -> Self {
        Self {
            json,
            gzip: OnceCell::new(),
        }
    }

    /// The answer as JSON.
    pub fn json(&self) -> Bytes {
        self.json.clone()
    }

    /// The answer gzipped: compressed by the first fan who asks, then shared.
    pub async fn gzip(&self) -> Bytes {
        self.gzip
            .get_or_init(|| async { gzip(&self.json) })
            .await
            .clone()
    }
}

fn gzip(bytes: &[u8]) -> Bytes {
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(bytes.len() / 8),
        flate2::Compression::default(),
    );
    // Writing into a Vec cannot fail.
    let _ = encoder.write_all(bytes);
    Bytes::from(encoder.finish().unwrap_or_default())
}
