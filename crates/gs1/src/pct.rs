//! Percent-encoding as used by EPC URNs and GS1 Digital Link URIs.

/// Decodes `%XX` escapes (either hex case). A `%` that is not followed by two hex digits is kept as
/// a literal `%` (some producers write raw `%` in EPC URNs). Returns `None` if the decoded bytes are
/// not UTF-8.
pub fn decode_lenient(s: &str) -> Option<String> {
    if !s.contains('%') {
        return Some(s.to_string());
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2]))
        {
            out.push(h * 16 + l);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8(out).ok()
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// Percent-encodes every byte that is not in `keep` (upper-case hex digits).
pub fn encode(s: &str, keep: fn(u8) -> bool) -> String {
    let mut out = String::with_capacity(s.len());
    encode_into(s, keep, &mut out);
    out
}

/// [`encode`] appended to `out`.
pub fn encode_into(s: &str, keep: fn(u8) -> bool, out: &mut String) {
    if s.bytes().all(keep) {
        out.push_str(s);
        return;
    }
    for &c in s.as_bytes() {
        if keep(c) {
            out.push(c as char);
        } else {
            out.push('%');
            out.push(HEX[(c >> 4) as usize] as char);
            out.push(HEX[(c & 15) as usize] as char);
        }
    }
}

/// Characters left unescaped in the canonical Digital Link used by the CBV 2.0 event hash:
/// the characters an EPC URN carries unescaped (TDS) minus those the hash algorithm escapes
/// (`! ( ) * + , :`), i.e. `A-Z a-z 0-9 ' - . ; = _`.
pub fn hash_canonical_keep(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'\'' | b'-' | b'.' | b';' | b'=' | b'_')
}

/// Characters an EPC URN carries unescaped (TDS 2.0 §6.3: `" % & / < > ?` and `#` are escaped).
pub fn urn_keep(c: u8) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(
            c,
            b'!' | b'\''
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b','
                | b'-'
                | b'.'
                | b':'
                | b';'
                | b'='
                | b'_'
        )
}

/// Characters a GS1 Digital Link path segment carries unescaped (RFC 3986 unreserved characters;
/// GS1 Digital Link 1.2 §6.2 / gs1-syntax-engine: everything else in CSET 82 is escaped).
pub fn dl_keep(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~')
}
