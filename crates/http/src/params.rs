//! Query strings: decoding with limits (our error format, not the framework's) and encoding for
//! `Link` headers. Also used by `zhiliang query`, so the CLI reads a query exactly as the server does.

use crate::HttpLimits;
use crate::error::ApiError;

/// Decode `a=1&b=x%20y` into pairs, in order. `+` is a space.
pub fn parse(raw: Option<&str>, limits: &HttpLimits) -> Result<Vec<(String, String)>, ApiError> {
    let raw = raw.unwrap_or("");
    if raw.len() > limits.query_string_bytes_max {
        return Err(ApiError::QueryParameter(format!(
            "the query string is {} bytes; the limit is {}",
            raw.len(),
            limits.query_string_bytes_max
        )));
    }
    let mut out = Vec::new();
    for part in raw.split('&').filter(|p| !p.is_empty()) {
        if out.len() >= limits.query_params_max {
            return Err(ApiError::QueryParameter(format!(
                "more than {} query parameters",
                limits.query_params_max
            )));
        }
        let (k, v) = part.split_once('=').unwrap_or((part, ""));
        let k = decode(k).ok_or_else(|| bad_encoding(part))?;
        let v = decode(v).ok_or_else(|| bad_encoding(part))?;
        out.push((k, v));
    }
    Ok(out)
}

fn bad_encoding(part: &str) -> ApiError {
    let shown: String = part.chars().take(64).collect();
    ApiError::QueryParameter(format!("{shown}: invalid percent-encoding or not UTF-8"))
}

fn decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = b.get(i + 1..i + 3)?;
                let hex = std::str::from_utf8(hex).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// Percent-encode everything but RFC 3986 unreserved characters.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for &c in s.as_bytes() {
        if c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~') {
            out.push(c as char);
        } else {
            out.push_str(&format!("%{c:02X}"));
        }
    }
    out
}

pub fn encode_pairs(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Query parameters as a map, for the `/api` resources: unknown or repeated parameters are errors
/// naming them (and, for unknown ones, the parameters the resource takes).
pub(crate) fn query_map(
    state: &crate::AppState,
    raw: Option<&str>,
    allowed: &[&str],
) -> Result<std::collections::BTreeMap<String, String>, ApiError> {
    let mut out = std::collections::BTreeMap::new();
    for (k, v) in parse(raw, &state.limits)? {
        if !allowed.contains(&k.as_str()) {
            return Err(ApiError::QueryParameter(format!(
                "{k}: unknown parameter; this resource takes {}",
                allowed.join(", ")
            )));
        }
        if out.insert(k.clone(), v).is_some() {
            return Err(ApiError::QueryParameter(format!(
                "{k}: given more than once"
            )));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let pairs = vec![
            (
                "MATCH_epc".to_string(),
                "urn:epc:id:sgtin:0614141.107346.2017".to_string(),
            ),
            (
                "x y".to_string(),
                "https://id.gs1.org/01/1/21/a&b=c".to_string(),
            ),
        ];
        let l = HttpLimits::default();
        assert_eq!(parse(Some(&encode_pairs(&pairs)), &l).unwrap(), pairs);
        assert_eq!(
            parse(Some("a=b+c"), &l).unwrap(),
            vec![("a".into(), "b c".into())]
        );
        assert!(parse(Some("a=%zz"), &l).is_err());
        assert!(parse(Some("a=%ff"), &l).is_err());
        assert!(parse(Some("a=%4"), &l).is_err());
    }
}
