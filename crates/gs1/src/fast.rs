//! Allocation-free fast paths of [`crate::canonical_dl`] for the identifiers that supply-chain
//! events carry most: `urn:epc:id:sgtin|sscc|sgln|grai|pgln`, `urn:epc:class:lgtin` with plain
//! components, and Digital Links that are already canonical. Anything else (escapes, other
//! schemes, short names, other hosts, several qualifiers …) returns `false` and the caller falls
//! back to the general code, so the result is always exactly the general code's.

use crate::pct::hash_canonical_keep;

const HOST: &str = "https://id.gs1.org/";

fn digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit())
}

/// 1..=max bytes, all kept as they are by the canonical escaping (a subset of CSET 82, so the
/// general code accepts the value and writes it unchanged).
fn plain(s: &str, max: usize) -> bool {
    (1..=max).contains(&s.len()) && s.bytes().all(hash_canonical_keep)
}

/// Appends `parts` (digit strings, `gcp` digits already checked) followed by their mod-10 check
/// digit.
fn push_with_check(out: &mut String, parts: &[&str]) {
    let n: usize = parts.iter().map(|p| p.len()).sum();
    // Weight 3 for the digit next to the check digit, alternating leftwards.
    let mut three = n % 2 == 1;
    let mut sum = 0u32;
    for p in parts {
        for c in p.bytes() {
            let d = u32::from(c - b'0');
            sum += if three { 3 * d } else { d };
            three = !three;
        }
        out.push_str(p);
    }
    out.push(char::from(b'0' + ((10 - sum % 10) % 10) as u8));
}

/// `s` split at its first `.` (a plain byte loop: the components are short).
fn dot(s: &str) -> Option<(&str, &str)> {
    let p = s.bytes().position(|c| c == b'.')?;
    Some((&s[..p], &s[p + 1..]))
}

fn split3(s: &str) -> Option<(&str, &str, &str)> {
    let (a, rest) = dot(s)?;
    let (b, c) = dot(rest)?;
    Some((a, b, c))
}

fn gcp_ok(gcp: &str) -> bool {
    (6..=12).contains(&gcp.len()) && digits(gcp)
}

/// GTIN-14 from company prefix and indicator + item reference (13 digits together).
fn gtin(out: &mut String, gcp: &str, ir: &str) -> bool {
    if !gcp_ok(gcp) || gcp.len() + ir.len() != 13 || !digits(ir) {
        return false;
    }
    push_with_check(out, &[&ir[..1], gcp, &ir[1..]]);
    true
}

/// Fast canonical Digital Link of an EPC URN; `false` (with `out` unchanged) when the general code
/// is needed.
pub(crate) fn urn(uri: &str, out: &mut String) -> bool {
    let start = out.len();
    let ok = urn_inner(uri, out);
    if !ok {
        out.truncate(start);
    }
    ok
}

fn urn_inner(uri: &str, out: &mut String) -> bool {
    if let Some(body) = uri.strip_prefix("urn:epc:id:") {
        let Some(p) = body.bytes().position(|c| c == b':') else {
            return false;
        };
        let (scheme, body) = (&body[..p], &body[p + 1..]);
        match scheme {
            "sgtin" => {
                let Some((gcp, ir, serial)) = split3(body) else {
                    return false;
                };
                if !plain(serial, 20) {
                    return false;
                }
                out.push_str(concat!("https://id.gs1.org/", "01/"));
                if !gtin(out, gcp, ir) {
                    return false;
                }
                out.push_str("/21/");
                out.push_str(serial);
                true
            }
            "sscc" => {
                let Some((gcp, sr)) = dot(body) else {
                    return false;
                };
                if !gcp_ok(gcp) || gcp.len() + sr.len() != 17 || !digits(sr) {
                    return false;
                }
                out.push_str(concat!("https://id.gs1.org/", "00/"));
                push_with_check(out, &[&sr[..1], gcp, &sr[1..]]);
                true
            }
            "sgln" => {
                let Some((gcp, lr, ext)) = split3(body) else {
                    return false;
                };
                if !gcp_ok(gcp) || gcp.len() + lr.len() != 12 || !digits(lr) || !plain(ext, 20) {
                    return false;
                }
                out.push_str(concat!("https://id.gs1.org/", "414/"));
                push_with_check(out, &[gcp, lr]);
                if ext != "0" {
                    out.push_str("/254/");
                    out.push_str(ext);
                }
                true
            }
            "pgln" => {
                let Some((gcp, pr)) = dot(body) else {
                    return false;
                };
                if !gcp_ok(gcp) || gcp.len() + pr.len() != 12 || !digits(pr) {
                    return false;
                }
                out.push_str(concat!("https://id.gs1.org/", "417/"));
                push_with_check(out, &[gcp, pr]);
                true
            }
            "grai" => {
                let Some((gcp, at, serial)) = split3(body) else {
                    return false;
                };
                if !gcp_ok(gcp) || gcp.len() + at.len() != 12 || !digits(at) || !plain(serial, 16) {
                    return false;
                }
                out.push_str(concat!("https://id.gs1.org/", "8003/"));
                push_with_check(out, &["0", gcp, at]);
                out.push_str(serial);
                true
            }
            _ => false,
        }
    } else if let Some(body) = uri.strip_prefix("urn:epc:class:lgtin:") {
        let Some((gcp, ir, lot)) = split3(body) else {
            return false;
        };
        if !plain(lot, 20) {
            return false;
        }
        out.push_str(concat!("https://id.gs1.org/", "01/"));
        if !gtin(out, gcp, ir) {
            return false;
        }
        out.push_str("/10/");
        out.push_str(lot);
        true
    } else {
        false
    }
}

/// Whether `uri` is a Digital Link that the general code returns unchanged (common keys only).
pub(crate) fn is_canonical_dl(uri: &str) -> bool {
    let Some(path) = uri.strip_prefix(HOST) else {
        return false;
    };
    let mut segs = path.split('/');
    let (Some(ai), Some(v)) = (segs.next(), segs.next()) else {
        return false;
    };
    let q = match (segs.next(), segs.next(), segs.next()) {
        (None, None, None) => None,
        (Some(qa), Some(qv), None) => Some((qa, qv)),
        _ => return false,
    };
    let key_ok = match ai {
        "01" => v.len() == 14 && digits(v),
        "00" => v.len() == 18 && digits(v),
        "414" | "417" => v.len() == 13 && digits(v),
        "8003" => {
            (14..=30).contains(&v.len())
                && v.get(..14).is_some_and(digits)
                && v.get(14..)
                    .is_some_and(|r| r.bytes().all(hash_canonical_keep))
        }
        _ => false,
    };
    key_ok
        && match (ai, q) {
            (_, None) => true,
            ("01", Some(("21" | "10", qv))) => plain(qv, 20),
            ("01", Some(("235", qv))) => plain(qv, 28),
            ("414", Some(("254", qv))) => plain(qv, 20),
            _ => false,
        }
}

#[cfg(test)]
mod tests {
    use crate::pct;

    /// The general code: parse into a key path, keep the most specific level, escape.
    fn general(uri: &str) -> Option<String> {
        let uri = uri.trim_matches(|c: char| c.is_ascii_whitespace());
        crate::key_path(uri).ok().map(|kp| {
            format!(
                "{}{}",
                crate::CANONICAL_HOST,
                kp.most_specific().path(pct::hash_canonical_keep)
            )
        })
    }

    fn fast_or_general(uri: &str) -> Option<String> {
        let mut out = String::from("prefix:");
        let ok = crate::canonical_dl_into(uri, &mut out);
        assert!(out.starts_with("prefix:"), "{uri}: existing content kept");
        if ok {
            Some(out["prefix:".len()..].to_string())
        } else {
            assert_eq!(out, "prefix:", "{uri}: nothing appended on failure");
            None
        }
    }

    /// Every variant of common identifiers (lengths, characters, escapes, qualifiers) gives
    /// exactly what the general code gives.
    #[test]
    fn fast_paths_agree_with_the_general_code() {
        let comps = [
            "",
            "0",
            "1",
            "4012345",
            "012345",
            "4012345678901",
            "0614141",
            "112345",
            "0011111",
            "11111",
            "011111",
            "12345",
            "123456789012",
            "1234567890123",
            "0000000001",
            "00000000000000001",
            "ABC",
            "a.b",
            "x%2Fy",
            "x%2fy",
            "A!B",
            "ab'c-d;e=f_g",
            "123456789012345678901",
            "12345678901234567890",
            "%",
            "é",
            "*",
            " 7",
            "0 ",
            "12345678901234567",
            "0123456789",
        ];
        let mut inputs = Vec::new();
        for pre in [
            "urn:epc:id:sgtin:",
            "urn:epc:id:sscc:",
            "urn:epc:id:sgln:",
            "urn:epc:id:pgln:",
            "urn:epc:id:grai:",
            "urn:epc:class:lgtin:",
            "urn:epc:id:giai:",
        ] {
            for a in comps {
                for b in comps {
                    inputs.push(format!("{pre}{a}.{b}"));
                    for c in [
                        "0",
                        "1",
                        "ABC",
                        "a.b",
                        "x%2Fy",
                        "A!B",
                        "",
                        "123456789012345678901",
                    ] {
                        inputs.push(format!("{pre}{a}.{b}.{c}"));
                    }
                }
            }
        }
        let keys = [
            ("01", "04012345111118"),
            ("01", "4012345111118"),
            ("00", "340123450000000017"),
            ("414", "4012345000009"),
            ("417", "4012345000009"),
            ("8003", "04012345111118"),
            ("8003", "04012345111118A1"),
            ("8003", "04012345111118A%2F"),
            ("8003", "0401234511111éAB"),
            ("8004", "4012345X"),
            ("01", "0401234511111"),
            ("gtin", "04012345111118"),
            ("00", "34012345000000001"),
        ];
        for host in [
            "https://id.gs1.org/",
            "https://example.com/",
            "http://id.gs1.org/",
        ] {
            for (ai, v) in keys {
                inputs.push(format!("{host}{ai}/{v}"));
                inputs.push(format!("{host}{ai}/{v}/"));
                inputs.push(format!("{host}{ai}/{v}?x=1"));
                for q in ["21", "10", "235", "254", "22", "7040", "ser"] {
                    for qv in [
                        "1",
                        "A.b",
                        "x%2Fy",
                        "A!B",
                        "",
                        "1234567890123456789012345678901",
                    ] {
                        inputs.push(format!("{host}{ai}/{v}/{q}/{qv}"));
                        inputs.push(format!("{host}{ai}/{v}/10/L1/{q}/{qv}"));
                    }
                }
            }
        }
        inputs.push(" urn:epc:id:sgtin:4012345.011111.1 ".into());
        let mut fast_hits = 0;
        for uri in &inputs {
            assert_eq!(fast_or_general(uri), general(uri), "{uri}");
            let mut out = String::new();
            if super::urn(uri, &mut out) || super::is_canonical_dl(uri) {
                fast_hits += 1;
            }
        }
        assert!(fast_hits > 100, "the fast paths are taken ({fast_hits})");
        assert!(
            inputs.iter().filter(|u| general(u).is_some()).count() > fast_hits,
            "and the general code too"
        );
    }
}
