//! Public randomness sources: RFC 3797 ("Publicly Verifiable Nominations Committee (NomCom)
//! Random Selection") and drand beacon rounds.
//!
//! RFC 3797: each source is a set of published numbers (lottery draws, stock indices...). The key
//! string is, per source in the announced order, its numbers sorted ascending as decimal integers
//! each followed by "." and then "/" to end the source. The i-th selection (i from 0) is
//! MD5(I || key || I) with I the 2-byte big-endian index; the digest, read as an unsigned
//! 128-bit big-endian integer, modulo the size of the remaining pool, plus 1, is the position of
//! the chosen candidate in the remaining ordered pool, which is then removed from it.

use md5::{Digest, Md5};
use sha2::Sha256;

use crate::error::DrawError;

/// Limit on the number of sources and numbers (outside input).
pub const SOURCES_MAX: usize = 64;
pub const NUMBERS_MAX: usize = 1_000;

/// Build the RFC 3797 key string from the sources' numbers.
pub fn key(sources: &[Vec<u64>]) -> Result<String, DrawError> {
    if sources.is_empty() || sources.len() > SOURCES_MAX {
        return Err(DrawError::invalid("sources", "1 to 64 sources"));
    }
    let mut out = String::new();
    for (i, s) in sources.iter().enumerate() {
        if s.is_empty() || s.len() > NUMBERS_MAX {
            return Err(DrawError::invalid(
                format!("sources[{i}]"),
                "1 to 1000 numbers",
            ));
        }
        let mut v = s.clone();
        v.sort_unstable();
        for n in v {
            out.push_str(&n.to_string());
            out.push('.');
        }
        out.push('/');
    }
    Ok(out)
}

/// Parse a key string back into its sources (the inverse of `key` for sorted input).
pub fn parse_key(key: &str) -> Result<Vec<Vec<u64>>, DrawError> {
    let body = key
        .strip_suffix('/')
        .ok_or_else(|| DrawError::invalid("key", "ending with '/'"))?;
    body.split('/')
        .map(|src| {
            let src = src
                .strip_suffix('.')
                .ok_or_else(|| DrawError::invalid("key", "each number followed by '.'"))?;
            src.split('.')
                .map(|n| {
                    n.parse::<u64>()
                        .map_err(|_| DrawError::invalid("key", "decimal numbers"))
                })
                .collect()
        })
        .collect()
}

/// MD5 digest of selection `index` (0-based) for a key.
pub fn digest(key: &str, index: u16) -> [u8; 16] {
    let mut h = Md5::new();
    h.update(index.to_be_bytes());
    h.update(key.as_bytes());
    h.update(index.to_be_bytes());
    h.finalize().into()
}

/// One selection step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pick {
    /// 1-based selection number.
    pub index: u32,
    pub md5_hex: String,
    /// Size of the remaining pool before this pick.
    pub remaining: u32,
    /// 1-based position in the original ordered pool of the chosen candidate.
    pub selected: u32,
}

/// Select `count` of `pool` candidates (numbered 1..=pool in the published order).
pub fn select(key: &str, pool: u32, count: u32) -> Result<Vec<Pick>, DrawError> {
    if pool == 0 || pool > 65_535 {
        return Err(DrawError::invalid("pool", "1 to 65535 candidates"));
    }
    if count > pool {
        return Err(DrawError::invalid("count", "at most the pool size"));
    }
    let mut remaining: Vec<u32> = (1..=pool).collect();
    let mut out = Vec::with_capacity(count as usize);
    for i in 0..count {
        let d = digest(key, i as u16);
        let v = u128::from_be_bytes(d);
        let pos = (v % remaining.len() as u128) as usize;
        let before = remaining.len() as u32;
        let chosen = remaining.remove(pos);
        out.push(Pick {
            index: i + 1,
            md5_hex: hex::encode_upper(d),
            remaining: before,
            selected: chosen,
        });
    }
    Ok(out)
}

/// drand: the randomness of a round is SHA-256 of its BLS signature.
pub fn drand_randomness(signature: &[u8]) -> [u8; 32] {
    Sha256::digest(signature).into()
}

/// drand: the round current at unix time `t` for a chain with `genesis` and `period_s`.
pub fn drand_round_at(t: u64, genesis: u64, period_s: u64) -> u64 {
    if t < genesis || period_s == 0 {
        return 0;
    }
    (t - genesis) / period_s + 1
}
