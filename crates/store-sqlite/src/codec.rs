//! Event keys, hash encoding and body compression.

use sha2::{Digest, Sha256};
use std::sync::Arc;
use zstd::dict::EncoderDictionary;

pub use store::codec::{
    DICT_SIZE, DICT_TRAIN_MIN_EVENTS, DICT_TRAIN_SAMPLES_MAX, ZSTD_LEVEL, decode_hash, encode_hash,
};

/// 64-bit key of an eventID or event hash (first 8 bytes of its SHA-256).
pub fn key64(s: &str) -> i64 {
    let d = Sha256::digest(s.as_bytes());
    i64::from_be_bytes(d[..8].try_into().expect("8 bytes"))
}

/// The eventID as stored: a `urn:uuid:` URN in canonical lowercase form packs to its 16 bytes;
/// anything else is kept as UTF-8 text (never 16 bytes long: such a text gets a trailing NUL).
pub fn encode_event_id(id: &str) -> Vec<u8> {
    if let Some(u) = id.strip_prefix("urn:uuid:")
        && u.len() == 36
        && u.bytes().enumerate().all(|(i, b)| {
            if [8, 13, 18, 23].contains(&i) {
                b == b'-'
            } else {
                b.is_ascii_digit() || (b'a'..=b'f').contains(&b)
            }
        })
    {
        let hex: String = u.chars().filter(|c| *c != '-').collect();
        return (0..16)
            .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).expect("hex checked"))
            .collect();
    }
    let mut v = id.as_bytes().to_vec();
    if v.len() == 16 {
        v.push(0);
    }
    v
}

pub fn decode_event_id(b: &[u8]) -> String {
    if b.len() == 16 {
        return store::codec::uuid_urn(b);
    }
    let b = if b.len() == 17 && b[16] == 0 {
        &b[..16]
    } else {
        b
    };
    String::from_utf8_lossy(b).into_owned()
}

/// A trained dictionary, ready for both directions.
pub struct Dict {
    pub id: i64,
    /// Unique in the process (dictionary ids repeat across stores), keys the decoder cache.
    pub uid: u64,
    pub bytes: Vec<u8>,
    pub enc: EncoderDictionary<'static>,
}

impl Dict {
    pub fn new(id: i64, bytes: &[u8]) -> Arc<Dict> {
        static NEXT_UID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        Arc::new(Dict {
            id,
            uid: NEXT_UID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            bytes: bytes.to_vec(),
            enc: EncoderDictionary::copy(bytes, ZSTD_LEVEL),
        })
    }
}

/// Train a dictionary on event bodies; None when zstd finds too little to learn from.
pub fn train(samples: &[&str]) -> Option<Vec<u8>> {
    let n = samples.len().min(DICT_TRAIN_SAMPLES_MAX);
    // Spread the samples over the whole capture.
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

thread_local! {
    /// Decompression contexts by dictionary uid (0 = none), reused across rows and queries.
    static DECODERS: std::cell::RefCell<std::collections::HashMap<u64, zstd::bulk::Decompressor<'static>>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

/// Decoder contexts kept per thread at most (one per dictionary in use).
const DECODERS_MAX: usize = 16;

pub fn decompress(data: &[u8], raw_len: usize, dict: Option<&Dict>) -> std::io::Result<String> {
    let uid = dict.map_or(0, |d| d.uid);
    let v = DECODERS.with(|cell| -> std::io::Result<Vec<u8>> {
        let mut map = cell.borrow_mut();
        if !map.contains_key(&uid) {
            if map.len() >= DECODERS_MAX {
                map.clear();
            }
            let d =
                zstd::bulk::Decompressor::with_dictionary(dict.map_or(&[][..], |d| &d.bytes[..]))?;
            map.insert(uid, d);
        }
        map.get_mut(&uid)
            .expect("inserted")
            .decompress(data, raw_len)
    })?;
    String::from_utf8(v).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}
