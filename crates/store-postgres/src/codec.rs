//! Event-hash encoding and body compression (the same encodings as the embedded store).

use std::sync::Arc;
use zstd::dict::{DecoderDictionary, EncoderDictionary};

pub use store::codec::{
    DICT_SIZE, DICT_TRAIN_MIN_EVENTS, DICT_TRAIN_SAMPLES_MAX, ZSTD_LEVEL, decode_hash, encode_hash,
};

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
