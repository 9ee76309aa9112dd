//! The only place that knows bincode: bincode 1.x is unmaintained upstream, so a swap must touch
//! this file alone. Fixed-width little-endian integers, and a byte limit so a corrupted length
//! cannot make the decoder allocate without bound.

use bincode::Options;
use serde::{de::DeserializeOwned, Serialize};

fn options(limit: u64) -> impl Options {
    bincode::DefaultOptions::new()
        .with_fixint_encoding()
        .with_little_endian()
        .reject_trailing_bytes()
        .with_limit(limit)
}

pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, String> {
    options(u64::MAX)
        .serialize(value)
        .map_err(|e| e.to_string())
}

pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    // Nothing in a payload can legitimately need more memory than a small multiple of its size.
    options(bytes.len() as u64 * 4 + 1024)
        .deserialize(bytes)
        .map_err(|e| e.to_string())
}
