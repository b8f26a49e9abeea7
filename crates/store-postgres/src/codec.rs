//! Event-hash encoding and body compression (the same encodings as the embedded store).

use std::sync::Arc;
use zstd::dict::{DecoderDictionary, EncoderDictionary};

/// zstd level for bodies: level 3 with a dictionary is within a few per cent of level 9 on
/// EPCIS events and several times faster.
pub const ZSTD_LEVEL: i32 = 3;
/// Dictionary size (bytes).
pub const DICT_SIZE: usize = 64 * 1024;
/// Train a dictionary from the first capture that brings at least this many events.
pub const DICT_TRAIN_MIN_EVENTS: usize = 500;
/// Most samples used for training.
pub const DICT_TRAIN_SAMPLES_MAX: usize = 5_000;

const HASH_PREFIX: &str = "ni:///sha-256;";
const HASH_SUFFIX: &str = "?ver=CBV2.0";

/// An event hash or event ID as stored: the 32 digest bytes for the standard hash form, the UTF-8
/// text otherwise (a text of exactly 32 bytes gets a trailing NUL so that the encoding is
/// injective). Event IDs use the same encoding, so an event captured without `eventID` (whose ID
/// is its hash) and an event whose `eventID` is that hash text collide, as they must.
pub fn encode_hash(h: &str) -> Vec<u8> {
    if let Some(hex) = h
        .strip_prefix(HASH_PREFIX)
        .and_then(|r| r.strip_suffix(HASH_SUFFIX))
        && hex.len() == 64
        && hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        let mut out = Vec::with_capacity(32);
        for i in 0..32 {
            out.push(u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).expect("hex checked"));
        }
        return out;
    }
    let mut v = h.as_bytes().to_vec();
    if v.len() == 32 {
        v.push(0);
    }
    v
}

pub fn decode_hash(b: &[u8]) -> String {
    if b.len() == 32 {
        let mut s = String::with_capacity(HASH_PREFIX.len() + 64 + HASH_SUFFIX.len());
        s.push_str(HASH_PREFIX);
        for x in b {
            s.push_str(&format!("{x:02x}"));
        }
        s.push_str(HASH_SUFFIX);
        return s;
    }
    let b = if b.len() == 33 && b[32] == 0 {
        &b[..32]
    } else {
        b
    };
    String::from_utf8_lossy(b).into_owned()
}

/// A trained dictionary, ready for both directions.
pub struct Dict {
    pub id: i32,
    pub enc: EncoderDictionary<'static>,
    pub dec: DecoderDictionary<'static>,
}

impl Dict {
    pub fn new(id: i32, bytes: &[u8]) -> Arc<Dict> {
        Arc::new(Dict {
            id,
            enc: EncoderDictionary::copy(bytes, ZSTD_LEVEL),
            dec: DecoderDictionary::copy(bytes),
        })
    }
}

/// Train a dictionary on event bodies; None when zstd finds too little to learn from.
pub fn train(samples: &[&str]) -> Option<Vec<u8>> {
    let n = samples.len().min(DICT_TRAIN_SAMPLES_MAX);
    let step = (samples.len() / n.max(1)).max(1);
    let picked: Vec<&[u8]> = samples
        .iter()
        .step_by(step)
        .take(n)
        .map(|s| s.as_bytes())
        .collect();
    zstd::dict::from_samples(&picked, DICT_SIZE).ok()
}

/// Compress bodies, using `dict` when given. Splits the work over the available cores.
pub fn compress_all(bodies: &[&str], dict: Option<&Dict>) -> std::io::Result<Vec<Vec<u8>>> {
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(8);
    let chunk = bodies.len().div_ceil(threads).max(256);
    let compress_chunk = |part: &[&str]| -> std::io::Result<Vec<Vec<u8>>> {
        let mut c = match dict {
            Some(d) => zstd::bulk::Compressor::with_prepared_dictionary(&d.enc)?,
            None => zstd::bulk::Compressor::new(ZSTD_LEVEL)?,
        };
        part.iter().map(|b| c.compress(b.as_bytes())).collect()
    };
    if bodies.len() <= chunk {
        return compress_chunk(bodies);
    }
    std::thread::scope(|s| {
        let handles: Vec<_> = bodies
            .chunks(chunk)
            .map(|part| s.spawn(move || compress_chunk(part)))
            .collect();
        let mut out = Vec::with_capacity(bodies.len());
        for h in handles {
            out.extend(h.join().expect("compression thread panicked")?);
        }
        Ok(out)
    })
}

pub fn decompress(data: &[u8], raw_len: usize, dict: Option<&Dict>) -> std::io::Result<String> {
    let mut d = match dict {
        Some(d) => zstd::bulk::Decompressor::with_prepared_dictionary(&d.dec)?,
        None => zstd::bulk::Decompressor::new()?,
    };
    let v = d.decompress(data, raw_len)?;
    String::from_utf8(v).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_encoding_round_trips_and_is_injective() {
        let h = format!("{HASH_PREFIX}{}{HASH_SUFFIX}", "ab".repeat(32));
        assert_eq!(encode_hash(&h).len(), 32);
        assert_eq!(decode_hash(&encode_hash(&h)), h);
        let t32 = "x".repeat(32);
        assert_eq!(encode_hash(&t32).len(), 33);
        assert_eq!(decode_hash(&encode_hash(&t32)), t32);
        for s in ["urn:uuid:1", "", "ni:///sha-256;ABCD?ver=CBV2.0"] {
            assert_eq!(decode_hash(&encode_hash(s)), s);
        }
        // Upper-case hex is not the canonical form: kept as text, so it differs from the digest.
        let upper = format!("{HASH_PREFIX}{}{HASH_SUFFIX}", "AB".repeat(32));
        assert_ne!(encode_hash(&upper), encode_hash(&h));
    }
}
