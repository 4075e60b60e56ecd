//! Finished answers kept as bytes and shared by every request that asked the same thing at
//! the same moment (the seat map when a sale opens), with a gzipped copy made once; and
//! files that never change once written (an event's seat layout), named by a hash of their
//! content so browsers may keep them for good.

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

/// A file whose content never changes once written, with its version: the first 32 hex
/// digits of the SHA-256 of its bytes. Equal content gives an equal version on every
/// instance, so any instance can answer a browser's `If-None-Match`.
#[derive(Debug)]
pub struct ImmutableFile {
    version: String,
    body: SharedAnswer,
}

impl ImmutableFile {
    /// Keeps a file's JSON and names its version; gzip is made when first asked for.
    pub fn new(json: Bytes) -> Self {
        use sha2::Digest as _;
        let digest = sha2::Sha256::digest(&json);
        Self {
            version: hex::encode(&digest[..16]),
            body: SharedAnswer::new(json),
        }
    }

    /// The content's version: 32 lowercase hex digits.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The file as JSON.
    pub fn json(&self) -> Bytes {
        self.body.json()
    }

    /// The file gzipped, compressed once.
    pub async fn gzip(&self) -> Bytes {
        self.body.gzip().await
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
