//! GS1 Digital Link URIs: parsing into a [`KeyPath`].

use crate::error::Gs1Error;
use crate::key::{KeyPath, KeyType, qualifier_from_segment};
use crate::{MAX_URI_LEN, pct};

/// How strictly a Digital Link is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DlMode {
    /// RFC 3986 structure: `?query` and `#fragment` are removed, the path is split on `/`, each
    /// segment is percent-decoded. Used for canonicalisation.
    Uri,
    /// The lexical reading of the openepcis translator: values may contain raw `/`, `#` and `?`
    /// (a `?` starts a query only when an `=` follows it); values are kept verbatim.
    Lexical,
}

/// A Digital Link split into its parts. Values are verbatim (still percent-encoded) in
/// [`DlMode::Lexical`] and decoded in [`DlMode::Uri`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DlParts {
    /// Scheme and authority plus any path before the key (`https://example.com/shop`).
    pub prefix: String,
    /// The key.
    pub key: KeyType,
    /// Key value as written (GTIN not yet padded).
    pub value: String,
    /// Key qualifiers (AI, value) in the order written.
    pub qualifiers: Vec<(&'static str, String)>,
    /// Query string (without `?`), if any.
    pub query: Option<String>,
}

fn scheme_len(uri: &str) -> Option<usize> {
    let lower = |n: usize| uri.get(..n).map(|p| p.to_ascii_lowercase());
    if lower(8).as_deref() == Some("https://") {
        Some(8)
    } else if lower(7).as_deref() == Some("http://") {
        Some(7)
    } else {
        None
    }
}

/// Splits a Digital Link into prefix, key, value and qualifiers (no value validation).
pub fn split(uri: &str, mode: DlMode) -> Result<DlParts, Gs1Error> {
    if uri.len() > MAX_URI_LEN {
        return Err(Gs1Error::TooLong {
            field: "Digital Link",
            max: MAX_URI_LEN,
        });
    }
    let Some(sl) = scheme_len(uri) else {
        return Err(Gs1Error::invalid(
            "Digital Link",
            "must start with http:// or https://",
        ));
    };
    let mut rest = uri;
    let mut query = None;
    match mode {
        DlMode::Uri => {
            if let Some(p) = rest.find('#') {
                rest = &rest[..p];
            }
            if let Some(p) = rest.find('?') {
                query = Some(rest[p + 1..].to_string());
                rest = &rest[..p];
            }
        }
        DlMode::Lexical => {
            if let Some(p) = rest.rfind('?')
                && rest[p + 1..].contains('=')
            {
                query = Some(rest[p + 1..].to_string());
                rest = &rest[..p];
            }
        }
    }
    let after_scheme = &rest[sl..];
    let Some(path_start) = after_scheme.find('/').map(|p| p + sl) else {
        return Err(Gs1Error::invalid("Digital Link", "has no path"));
    };
    let path = &rest[path_start..];
    let mut first_err = None;
    // Candidate key positions: every `/<key>/` boundary in the path, left to right.
    let bytes = path.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'/' {
            let seg_end = path[i + 1..].find('/').map(|p| p + i + 1);
            if let Some(seg_end) = seg_end
                && let Some(key) = KeyType::from_segment(&path[i + 1..seg_end])
            {
                match split_after_key(key, &path[seg_end + 1..], mode) {
                    Ok((value, qualifiers)) => {
                        return Ok(DlParts {
                            prefix: rest[..path_start + i].to_string(),
                            key,
                            value,
                            qualifiers,
                            query,
                        });
                    }
                    Err(e) => {
                        first_err.get_or_insert(e);
                    }
                }
            }
        }
        i += 1;
    }
    Err(first_err.unwrap_or_else(|| {
        Gs1Error::invalid(
            "Digital Link",
            "path has no GS1 primary key (e.g. /01/, /00/, /414/)",
        )
    }))
}

type Split = (String, Vec<(&'static str, String)>);

fn split_after_key(key: KeyType, s: &str, mode: DlMode) -> Result<Split, Gs1Error> {
    match mode {
        DlMode::Uri => {
            let s = s.strip_suffix('/').unwrap_or(s);
            let segs: Vec<&str> = s.split('/').collect();
            if segs.len() % 2 != 1 {
                return Err(Gs1Error::invalid(
                    "Digital Link",
                    "path after the key must be pairs of key qualifier and value",
                ));
            }
            let mut qualifiers = Vec::new();
            for pair in segs[1..].chunks(2) {
                let Some(ai) = qualifier_from_segment(pair[0]) else {
                    return Err(Gs1Error::invalid(
                        "Digital Link",
                        format!("'{}' is not a key qualifier of AI {}", pair[0], key.ai()),
                    ));
                };
                qualifiers.push((ai, decode(pair[1])?));
            }
            Ok((decode(segs[0])?, qualifiers))
        }
        DlMode::Lexical => {
            // The value runs up to the first `/<qualifier>/` that is allowed for this key.
            let allowed: Vec<&str> = key
                .qualifier_sequences()
                .iter()
                .flat_map(|q| q.iter().copied())
                .collect();
            let mut out = Vec::new();
            let mut cur_ai: Option<&'static str> = None;
            let mut start = 0;
            let mut value = None;
            let b = s.as_bytes();
            let mut i = 0;
            while i < b.len() {
                if b[i] == b'/' {
                    let hit = allowed.iter().find(|ai| {
                        s[i + 1..].starts_with(**ai) && s[i + 1 + ai.len()..].starts_with('/')
                    });
                    if let Some(ai) = hit {
                        let v = s[start..i].to_string();
                        match cur_ai {
                            None => value = Some(v),
                            Some(a) => out.push((a, v)),
                        }
                        cur_ai = Some(qualifier_from_segment(ai).unwrap_or("21"));
                        i += ai.len() + 2;
                        start = i;
                        continue;
                    }
                }
                i += 1;
            }
            let v = s[start..].to_string();
            match cur_ai {
                None => value = Some(v),
                Some(a) => out.push((a, v)),
            }
            Ok((value.unwrap_or_default(), out))
        }
    }
}

fn decode(seg: &str) -> Result<String, Gs1Error> {
    pct::decode_lenient(seg)
        .ok_or_else(|| Gs1Error::invalid("Digital Link", "percent-encoding is not UTF-8"))
}

/// Pads a GTIN-8/12/13 to GTIN-14.
pub fn pad_gtin(v: &str) -> Option<String> {
    if !v.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    match v.len() {
        8 | 12 | 13 | 14 => Some(format!("{v:0>14}")),
        _ => None,
    }
}

/// Parses a Digital Link (any host, query and fragment ignored) into its key path, values decoded
/// and validated (format only, no check digit), qualifiers put into the standard order.
pub fn parse_key_path(uri: &str) -> Result<KeyPath, Gs1Error> {
    let parts = split(uri, DlMode::Uri)?;
    let mut value = parts.value;
    if parts.key == KeyType::Gtin {
        value = pad_gtin(&value)
            .ok_or_else(|| Gs1Error::invalid("GTIN", KeyType::Gtin.check_value("").unwrap_err()))?;
    }
    let mut qualifiers = parts.qualifiers;
    for (i, (ai, _)) in qualifiers.iter().enumerate() {
        if qualifiers[..i].iter().any(|(a, _)| a == ai) {
            return Err(Gs1Error::invalid(
                "Digital Link",
                format!("AI {ai} appears twice"),
            ));
        }
    }
    // Standard order (lenient reading of e.g. /21/…/10/…).
    let order = ["22", "10", "21", "235", "254", "7040", "8011", "8019"];
    qualifiers.sort_by_key(|(ai, _)| order.iter().position(|o| o == ai));
    let kp = KeyPath {
        key: parts.key,
        value,
        qualifiers,
    };
    kp.validate()
        .map_err(|rule| Gs1Error::invalid("Digital Link", rule))?;
    Ok(kp)
}
