//! Encodings every backend shares, so that stores agree byte for byte: the stored form of event
//! hashes and IDs, and the body-compression settings (pure; the compressor itself lives in the
//! backends).

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

/// Append `bytes` in lowercase hexadecimal (every event read decodes a hash or an ID: no
/// formatting machinery, no allocation per byte).
pub fn push_hex(out: &mut String, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.reserve(bytes.len() * 2);
    for &x in bytes {
        out.push(HEX[(x >> 4) as usize] as char);
        out.push(HEX[(x & 15) as usize] as char);
    }
}

/// `urn:uuid:` in canonical lowercase form of 16 bytes (the stored form of such event IDs).
pub fn uuid_urn(b: &[u8]) -> String {
    let mut s = String::with_capacity(45);
    s.push_str("urn:uuid:");
    for (k, part) in [&b[0..4], &b[4..6], &b[6..8], &b[8..10], &b[10..16]]
        .into_iter()
        .enumerate()
    {
        if k > 0 {
            s.push('-');
        }
        push_hex(&mut s, part);
    }
    s
}

/// The inverse of [`encode_hash`].
pub fn decode_hash(b: &[u8]) -> String {
    if b.len() == 32 {
        let mut s = String::with_capacity(HASH_PREFIX.len() + 64 + HASH_SUFFIX.len());
        s.push_str(HASH_PREFIX);
        push_hex(&mut s, b);
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

    #[test]
    fn hex_and_uuid_match_the_formatter() {
        let bytes: Vec<u8> = (0..=255u8).collect();
        let mut s = String::new();
        push_hex(&mut s, &bytes);
        let want: String = bytes.iter().map(|x| format!("{x:02x}")).collect();
        assert_eq!(s, want);
        let b: Vec<u8> = (0..16u8)
            .map(|i| i.wrapping_mul(37).wrapping_add(250))
            .collect();
        let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
        assert_eq!(
            uuid_urn(&b),
            format!(
                "urn:uuid:{}-{}-{}-{}-{}",
                &hex[0..8],
                &hex[8..12],
                &hex[12..16],
                &hex[16..20],
                &hex[20..32]
            )
        );
    }
}
