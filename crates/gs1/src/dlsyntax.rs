//! GS1 Digital Link URI syntax as the GS1 Barcode Syntax Engine reads and writes it: a Digital
//! Link <-> AI element string, with key-qualifier sequences and data attributes checked against
//! the syntax dictionary.
//!
//! Reading ([`parse_dl_uri`]): the scheme is `http`/`https` (all lower or all upper case); the
//! domain may not contain `_ ~ ? # @ ! $ & ' ( ) * + , ; = %`; the path is searched from the
//! right for the primary key; path values are percent-decoded (`+` is literal), query values too
//! (`+` is a space); non-numeric query parameters and parameters without `=` are ignored; a
//! numeric parameter must be a known AI, a permitted data attribute, not a key qualifier that
//! belongs in the path, and not a repeat.

use crate::ai;
use crate::element::{AiOptions, AiValue, check_ai_value, check_associations, entry_for};
use crate::error::Gs1Error;
use crate::{CANONICAL_HOST, MAX_URI_LEN};

fn err(rule: impl Into<String>) -> Gs1Error {
    Gs1Error::invalid("Digital Link", rule)
}

/// Characters allowed anywhere in a URI (RFC 3986 unreserved, reserved and `%`).
fn is_uri_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"-._~:/?#[]@!$&'()*+,;=%".contains(&c)
}

/// Deprecated Digital Link short names and their AIs.
const ALPHAS: [(&str, &str); 22] = [
    ("cpid", "8010"),
    ("cpsn", "8011"),
    ("cpv", "22"),
    ("gcn", "255"),
    ("gdti", "253"),
    ("giai", "8004"),
    ("ginc", "401"),
    ("gln", "414"),
    ("glnx", "254"),
    ("gmn", "8013"),
    ("grai", "8003"),
    ("gsin", "402"),
    ("gsrn", "8018"),
    ("gsrnp", "8017"),
    ("gtin", "01"),
    ("itip", "8006"),
    ("lot", "10"),
    ("party", "417"),
    ("refno", "8020"),
    ("ser", "21"),
    ("srin", "8019"),
    ("sscc", "00"),
];

/// Percent-decodes `s` into bytes; a `%` not followed by two hex digits stays literal; in a query
/// component `+` is a space. Returns `None` if a `%00` appears.
pub fn uri_unescape(s: &str, query: bool) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%'
            && let (Some(h), Some(l)) = (
                b.get(i + 1).and_then(|&c| hex(c)),
                b.get(i + 2).and_then(|&c| hex(c)),
            )
        {
            let v = (h * 16 + l) as u8;
            if v == 0 {
                return None;
            }
            out.push(v);
            i += 3;
        } else {
            out.push(if query && b[i] == b'+' { b' ' } else { b[i] });
            i += 1;
        }
    }
    Some(out)
}

/// Percent-encodes everything but RFC 3986 unreserved characters; in a query component a space
/// becomes `+`.
pub fn uri_escape(v: &[u8], query: bool) -> String {
    let mut s = String::with_capacity(v.len());
    for &c in v {
        if c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~') {
            s.push(c as char);
        } else if c == b' ' && query {
            s.push('+');
        } else {
            s.push_str(&format!("%{c:02X}"));
        }
    }
    s
}

/// Whether `seq` (primary key first) is a valid key-qualifier sequence: the qualifiers are an
/// ordered subset of one of the key's alternatives.
pub fn is_valid_path_sequence(seq: &[&str]) -> bool {
    let Some(first) = seq.first() else {
        return false;
    };
    let Some(Some(alts)) = ai::lookup(first).map(|e| e.dlpkey.as_ref()) else {
        return false;
    };
    alts.iter().any(|alt| {
        let mut pos = 0;
        seq[1..]
            .iter()
            .all(|q| match alt[pos..].iter().position(|a| a == q) {
                Some(p) => {
                    pos += p + 1;
                    true
                }
                None => false,
            })
    })
}

fn path_entry(seg: &str, opts: &AiOptions) -> Option<(String, bool)> {
    if opts.permit_convenience_alphas
        && (3..=5).contains(&seg.len())
        && !seg.as_bytes()[0].is_ascii_digit()
        && let Some((_, ai)) = ALPHAS.iter().find(|(a, _)| *a == seg)
    {
        return Some((ai.to_string(), true));
    }
    entry_for(seg, opts).map(|e| (e.ai, false))
}

fn is_pkey(ai: &str) -> bool {
    ai::lookup(ai).is_some_and(|e| e.dlpkey.is_some())
}

fn decoded(raw: &str, query: bool, ai: &str) -> Result<String, Gs1Error> {
    let bytes =
        uri_unescape(raw, query).ok_or_else(|| err(format!("AI ({ai}) value contains %00")))?;
    String::from_utf8(bytes).map_err(|_| err(format!("AI ({ai}) value is not UTF-8")))
}

fn pad_gtin(ai: &str, v: String, opts: &AiOptions) -> String {
    if ai == "01" && opts.permit_zero_suppressed_gtin && matches!(v.len(), 8 | 12 | 13) {
        format!("{v:0>14}")
    } else {
        v
    }
}

/// Reads a Digital Link into its AIs: the path AIs (key first), then the query AIs in order.
pub fn parse_dl_uri(uri: &str, opts: &AiOptions) -> Result<Vec<AiValue>, Gs1Error> {
    if uri.len() > MAX_URI_LEN {
        return Err(Gs1Error::TooLong {
            field: "Digital Link",
            max: MAX_URI_LEN,
        });
    }
    if let Some(c) = uri.bytes().find(|&c| !is_uri_char(c)) {
        return Err(err(format!("illegal character {:?}", c as char)));
    }
    let rest = ["https://", "HTTPS://", "http://", "HTTP://"]
        .iter()
        .find_map(|s| uri.strip_prefix(s))
        .ok_or_else(|| err("scheme must be http:// or https://"))?;
    let slash = rest
        .find('/')
        .filter(|&p| p > 0)
        .ok_or_else(|| err("missing domain or path"))?;
    let domain = &rest[..slash];
    if domain.bytes().any(|c| b"_~?#@!$&'()*+,;=%".contains(&c)) {
        return Err(err("illegal character in domain"));
    }
    let mut path = &rest[slash..];
    if let Some(p) = path.find('#') {
        path = &path[..p];
    }
    let mut query = None;
    if let Some(p) = path.find('?') {
        query = Some(&path[p + 1..]);
        path = &path[..p];
    }
    // Segments after the leading '/'.
    let segs: Vec<&str> = path[1..].split('/').collect();
    // Search from the right for /AI/value pairs ending at the primary key.
    let mut root = None;
    let mut k = segs.len();
    while k >= 2 {
        let Some((ai, _)) = path_entry(segs[k - 2], opts) else {
            break;
        };
        if is_pkey(&ai) {
            root = Some(k - 2);
            break;
        }
        k -= 2;
    }
    let root = root.ok_or_else(|| err("no GS1 Digital Link primary key in the path"))?;
    let mut out: Vec<AiValue> = Vec::new();
    let mut path_ais: Vec<String> = Vec::new();
    for pair in segs[root..].chunks(2) {
        let (ai, _) = path_entry(pair[0], opts).ok_or_else(|| err("unknown AI in path"))?;
        if pair[1].is_empty() {
            return Err(err(format!("AI ({ai}) path element is empty")));
        }
        let v = pad_gtin(&ai, decoded(pair[1], false, &ai)?, opts);
        let entry = entry_for(&ai, opts).ok_or_else(|| err(format!("unknown AI ({ai})")))?;
        check_ai_value(&entry, &v)?;
        path_ais.push(ai.clone());
        out.push(AiValue { ai, value: v });
    }
    let n_path = out.len();
    for param in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let Some((k, raw)) = param.split_once('=') else {
            continue;
        };
        if k.is_empty() || !k.bytes().all(|c| c.is_ascii_digit()) {
            continue;
        }
        let entry = entry_for(k, opts).ok_or_else(|| err(format!("unknown AI ({k}) in query")))?;
        if raw.is_empty() {
            return Err(err(format!("AI ({k}) query value is empty")));
        }
        let v = pad_gtin(k, decoded(raw, true, k)?, opts);
        check_ai_value(&entry, &v)?;
        if out.iter().any(|a| a.ai == k) {
            return Err(err(format!("AI ({k}) appears twice")));
        }
        let attr_ok = if entry.unknown {
            opts.unknown_ai_as_dl_attr
        } else {
            entry.dl_data_attr
        };
        if !attr_ok {
            return Err(err(format!("AI ({k}) is not a valid data attribute")));
        }
        for j in 1..=n_path {
            let mut seq: Vec<&str> = path_ais.iter().map(String::as_str).collect();
            seq.insert(j, k);
            if is_valid_path_sequence(&seq) {
                return Err(err(format!("AI ({k}) should be in the path")));
            }
        }
        out.push(AiValue {
            ai: k.to_string(),
            value: v,
        });
        if out.len() > crate::element::MAX_AIS {
            return Err(err("too many AIs"));
        }
    }
    let seq: Vec<&str> = path_ais.iter().map(String::as_str).collect();
    if !is_valid_path_sequence(&seq) {
        return Err(err(format!(
            "invalid key-qualifier sequence {}",
            seq.join("/")
        )));
    }
    check_associations(&out)?;
    Ok(out)
}

/// Writes a Digital Link for AI data: the first primary key AI and the most qualifiers of one of
/// its sequences go in the path, every other AI (fixed-length first, then in order, repeats
/// dropped) in the query. `stem` defaults to `https://id.gs1.org`.
pub fn generate_dl_uri(
    ais: &[AiValue],
    stem: Option<&str>,
    opts: &AiOptions,
) -> Result<String, Gs1Error> {
    let key_idx = ais
        .iter()
        .position(|a| is_pkey(&a.ai))
        .ok_or_else(|| err("no primary key AI to make a Digital Link from"))?;
    let key = &ais[key_idx];
    let alts = ai::lookup(&key.ai)
        .and_then(|e| e.dlpkey.clone())
        .unwrap_or_default();
    // The alternative with the most qualifiers present (first wins a tie).
    let mut best: Vec<&str> = Vec::new();
    for alt in &alts {
        let present: Vec<&str> = alt
            .iter()
            .copied()
            .filter(|q| ais.iter().any(|a| a.ai == *q))
            .collect();
        if present.len() > best.len() {
            best = present;
        }
    }
    let mut s = stem.unwrap_or(CANONICAL_HOST).to_string();
    if s.ends_with('/') {
        s.pop();
    }
    let mut in_path: Vec<&str> = vec![key.ai.as_str()];
    s.push_str(&format!(
        "/{}/{}",
        key.ai,
        uri_escape(key.value.as_bytes(), false)
    ));
    for q in &best {
        let v = ais
            .iter()
            .find(|a| a.ai == *q)
            .map(|a| a.value.as_str())
            .unwrap_or_default();
        s.push_str(&format!("/{q}/{}", uri_escape(v.as_bytes(), false)));
        in_path.push(q);
    }
    let mut params: Vec<String> = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for fixed in [true, false] {
        for a in ais {
            let entry =
                entry_for(&a.ai, opts).ok_or_else(|| err(format!("unknown AI ({})", a.ai)))?;
            if entry.predefined_length != fixed
                || in_path.contains(&a.ai.as_str())
                || seen.contains(&a.ai.as_str())
            {
                continue;
            }
            let attr_ok = if entry.unknown {
                opts.unknown_ai_as_dl_attr
            } else {
                entry.dl_data_attr
            };
            if !attr_ok {
                return Err(err(format!("AI ({}) is not a valid data attribute", a.ai)));
            }
            seen.push(&a.ai);
            params.push(format!("{}={}", a.ai, uri_escape(a.value.as_bytes(), true)));
        }
    }
    if !params.is_empty() {
        s.push('?');
        s.push_str(&params.join("&"));
    }
    Ok(s)
}
