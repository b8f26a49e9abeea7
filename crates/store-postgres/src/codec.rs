//! Event-hash encoding and body compression (the same encodings as the embedded store).

use std::sync::Arc;
use zstd::dict::EncoderDictionary;

pub use store::codec::{
    DICT_SIZE, DICT_TRAIN_MIN_EVENTS, DICT_TRAIN_SAMPLES_MAX, ZSTD_LEVEL, decode_hash, encode_hash,
};

/// A trained dictionary, ready for both directions.
pub struct Dict {
    pub id: i32,
    /// The dictionary itself (loaded into each thread's decompression context).
    pub bytes: Vec<u8>,
    pub enc: EncoderDictionary<'static>,
}

impl Dict {
    pub fn new(id: i32, bytes: &[u8]) -> Arc<Dict> {
        Arc::new(Dict {
            id,
            bytes: bytes.to_vec(),
            enc: EncoderDictionary::copy(bytes, ZSTD_LEVEL),
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

thread_local! {
    /// One decompression context per thread, with the dictionary (by id; 0: none) loaded into
    /// it: creating a context costs more than decompressing a small event body.
    static DCTX: std::cell::RefCell<Option<(i32, zstd::bulk::Decompressor<'static>)>> =
        const { std::cell::RefCell::new(None) };
}

pub fn decompress(data: &[u8], raw_len: usize, dict: Option<&Dict>) -> std::io::Result<String> {
    let id = dict.map(|d| d.id).unwrap_or(0);
    let v = DCTX.with(|cell| -> std::io::Result<Vec<u8>> {
        let mut slot = cell.borrow_mut();
        let fresh = match slot.as_ref() {
            Some((have, _)) => *have != id,
            None => true,
        };
        if fresh {
            let d = match dict {
                Some(d) => zstd::bulk::Decompressor::with_dictionary(&d.bytes)?,
                None => zstd::bulk::Decompressor::new()?,
            };
            *slot = Some((id, d));
        }
        let (_, d) = slot.as_mut().expect("set above");
        let out = d.decompress(data, raw_len);
        if out.is_err() {
            // Do not keep a context in an unknown state.
            *slot = None;
        }
        out
    })?;
    String::from_utf8(v).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}
