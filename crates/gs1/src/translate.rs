//! EPC URN <-> GS1 Digital Link translation (TDS 2.0 §7 / GS1 Digital Link 1.x), lexical.
//!
//! Components are copied as written: an EPC URN escape such as `%2F` stays `%2F` in the Digital
//! Link and the other way round, and characters that are written raw stay raw. This is how the
//! openepcis translator behaves (its 324 reference pairs are the test). For matching and hashing
//! use [`crate::canonical_dl`], which unescapes and re-escapes consistently.
//!
//! A Digital Link is read lexically ([`DlMode::Lexical`]): key values may contain `/`, `#` and `?`
//! (a `?` starts a query string only when an `=` follows it), the host and any path before the
//! key are ignored. Check digits of a Digital Link are not verified here (use the key newtypes).

use crate::dl::{DlMode, split};
use crate::epc::{EpcUrn, UrnKind};
use crate::error::Gs1Error;
use crate::key::{KeyPath, KeyType};
use crate::{CANONICAL_HOST, cset::Cset, pct};

/// The Digital Link (on `https://id.gs1.org`) of an EPC URN: `urn:epc:id:…`,
/// `urn:epc:class:lgtin:…`, or a pattern `urn:epc:idpat:<scheme>:CP.REF.*` (the class).
pub fn epc_urn_to_dl(urn: &str) -> Result<String, Gs1Error> {
    let parsed = EpcUrn::parse(urn)?;
    if parsed.kind == UrnKind::Pattern && !parsed.is_complete() && !parsed.is_class_pattern() {
        return Err(Gs1Error::invalid(
            "EPC pattern",
            "only CP.REF.* (all serials of one class) has a Digital Link",
        ));
    }
    let kp = parsed.key_path_verbatim()?;
    Ok(format!("{CANONICAL_HOST}{}", kp.path(|_| true)))
}

/// Which URN a Digital Link is translated to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    /// `urn:epc:id:…`; fails without a serial component.
    Instance,
    /// `urn:epc:class:lgtin:…` or `urn:epc:idpat:…:CP.REF.*`.
    Class,
}

/// The EPC pure-identity URN (`urn:epc:id:…`) of a Digital Link. The GS1 Company Prefix length
/// (6..=12) is not in the Digital Link, so the caller gives it (from the GS1 Company Prefix
/// format list, or from its own master data).
pub fn dl_to_epc_urn(dl: &str, gcp_len: usize) -> Result<String, Gs1Error> {
    to_urn(dl, gcp_len, Level::Instance)
}

/// The EPC class URN of a Digital Link: `urn:epc:class:lgtin:` for GTIN + lot, otherwise the
/// pattern `urn:epc:idpat:<scheme>:CP.REF.*` (GTIN, GRAI, GDTI, GCN, CPID, ITIP without serial).
pub fn dl_to_epc_class_urn(dl: &str, gcp_len: usize) -> Result<String, Gs1Error> {
    to_urn(dl, gcp_len, Level::Class)
}

fn inv(field: &'static str, rule: impl Into<String>) -> Gs1Error {
    Gs1Error::invalid(field, rule)
}

fn digits(s: &str) -> bool {
    s.bytes().all(|c| c.is_ascii_digit())
}

/// Checks an escaped text component: 1..=max characters of `cset` once unescaped.
fn text(field: &'static str, v: &str, cset: Cset, max: usize) -> Result<(), Gs1Error> {
    let u = pct::decode_lenient(v).ok_or_else(|| inv(field, "escape is not UTF-8"))?;
    if u.is_empty() || u.len() > max || cset.first_invalid(&u).is_some() {
        return Err(inv(
            field,
            format!("must be 1 to {max} characters of {cset:?}"),
        ));
    }
    Ok(())
}

fn to_urn(dl: &str, gcp_len: usize, level: Level) -> Result<String, Gs1Error> {
    if !(6..=12).contains(&gcp_len) {
        return Err(inv("GS1 Company Prefix", "length must be 6 to 12"));
    }
    let parts = split(dl, DlMode::Lexical)?;
    let g = gcp_len;
    let v = parts.value.as_str();
    let q = |ai: &str| {
        parts
            .qualifiers
            .iter()
            .find(|(a, _)| *a == ai)
            .map(|(_, x)| x.as_str())
    };
    for (ai, x) in &parts.qualifiers {
        let (cset, max) = match *ai {
            "8011" => (Cset::Numeric, 12),
            "235" => (Cset::Cset82, 28),
            "8019" => (Cset::Numeric, 10),
            _ => (Cset::Cset82, 20),
        };
        text("key qualifier", x, cset, max)?;
    }
    let fixed = |n: usize, name: &'static str| -> Result<(), Gs1Error> {
        if v.len() != n || !digits(v) {
            return Err(inv(name, format!("must be {n} digits")));
        }
        Ok(())
    };
    let lead = |n: usize, name: &'static str| -> Result<(), Gs1Error> {
        if !v.get(..n).is_some_and(digits) {
            return Err(inv(name, format!("must start with {n} digits")));
        }
        Ok(())
    };
    // Company prefix at the start of a variable-length key (GIAI, GINC, CPID).
    let var = |name: &'static str, cset: Cset| -> Result<(&str, &str), Gs1Error> {
        if !v.get(..g).is_some_and(digits) {
            return Err(inv(name, "must start with the GS1 Company Prefix (digits)"));
        }
        let u = pct::decode_lenient(v).ok_or_else(|| inv(name, "escape is not UTF-8"))?;
        if u.len() > 30 || cset.first_invalid(&u).is_some() {
            return Err(inv(
                name,
                format!("must be at most 30 characters of {cset:?}"),
            ));
        }
        if v.len() == g && g != 12 {
            return Err(inv(name, "reference after the GS1 Company Prefix is empty"));
        }
        Ok((&v[..g], &v[g..]))
    };
    let need = |x: Option<&str>, what: &str| -> Result<String, Gs1Error> {
        x.map(str::to_string)
            .ok_or_else(|| inv("Digital Link", format!("has no {what}")))
    };
    let class = level == Level::Class;
    // GTIN-based: company prefix after the indicator digit.
    let item = |v: &str| format!("{}{}", &v[..1], &v[1 + g..13]);
    let urn = match parts.key {
        KeyType::Gtin => {
            fixed(14, "GTIN")?;
            let (gcp, ir) = (&v[1..1 + g], item(v));
            if class {
                match q("10") {
                    Some(lot) => format!("urn:epc:class:lgtin:{gcp}.{ir}.{lot}"),
                    None => format!("urn:epc:idpat:sgtin:{gcp}.{ir}.*"),
                }
            } else if let Some(s) = q("21") {
                format!("urn:epc:id:sgtin:{gcp}.{ir}.{s}")
            } else if let Some(t) = q("235") {
                format!("urn:epc:id:upui:{gcp}.{ir}.{t}")
            } else {
                return Err(inv("Digital Link", "GTIN without serial (21) or TPX (235)"));
            }
        }
        KeyType::Itip => {
            fixed(18, "ITIP")?;
            let (gcp, ir, pt) = (
                &v[1..1 + g],
                item(v),
                format!("{}.{}", &v[14..16], &v[16..18]),
            );
            if class {
                format!("urn:epc:idpat:itip:{gcp}.{ir}.{pt}.*")
            } else {
                format!(
                    "urn:epc:id:itip:{gcp}.{ir}.{pt}.{}",
                    need(q("21"), "serial (21)")?
                )
            }
        }
        KeyType::Sscc if !class => {
            fixed(18, "SSCC")?;
            format!(
                "urn:epc:id:sscc:{}.{}{}",
                &v[1..1 + g],
                &v[..1],
                &v[1 + g..17]
            )
        }
        KeyType::Gln if !class => {
            fixed(13, "GLN")?;
            let ext = q("254").unwrap_or("0");
            format!("urn:epc:id:sgln:{}.{}.{ext}", &v[..g], &v[g..12])
        }
        KeyType::Pgln if !class => {
            fixed(13, "party GLN")?;
            format!("urn:epc:id:pgln:{}.{}", &v[..g], &v[g..12])
        }
        KeyType::Gsin if !class => {
            fixed(17, "GSIN")?;
            format!("urn:epc:id:gsin:{}.{}", &v[..g], &v[g..16])
        }
        KeyType::Gsrn | KeyType::Gsrnp if !class => {
            fixed(18, "GSRN")?;
            let s = if parts.key == KeyType::Gsrn {
                "gsrn"
            } else {
                "gsrnp"
            };
            format!("urn:epc:id:{s}:{}.{}", &v[..g], &v[g..17])
        }
        KeyType::Grai => {
            lead(14, "GRAI")?;
            let (gcp, at, serial) = (&v[1..1 + g], &v[1 + g..13], &v[14..]);
            if class {
                format!("urn:epc:idpat:grai:{gcp}.{at}.*")
            } else {
                text("GRAI serial", serial, Cset::Cset82, 16)?;
                format!("urn:epc:id:grai:{gcp}.{at}.{serial}")
            }
        }
        KeyType::Gdti => {
            lead(13, "GDTI")?;
            let (gcp, dt, serial) = (&v[..g], &v[g..12], &v[13..]);
            if class {
                format!("urn:epc:idpat:gdti:{gcp}.{dt}.*")
            } else {
                text("GDTI serial", serial, Cset::Cset82, 17)?;
                format!("urn:epc:id:gdti:{gcp}.{dt}.{serial}")
            }
        }
        KeyType::Gcn => {
            lead(13, "GCN")?;
            let (gcp, cr, serial) = (&v[..g], &v[g..12], &v[13..]);
            if class {
                format!("urn:epc:idpat:sgcn:{gcp}.{cr}.*")
            } else {
                text("GCN serial", serial, Cset::Numeric, 12)?;
                format!("urn:epc:id:sgcn:{gcp}.{cr}.{serial}")
            }
        }
        KeyType::Giai if !class => {
            let (gcp, r) = var("GIAI", Cset::Cset82)?;
            format!("urn:epc:id:giai:{gcp}.{r}")
        }
        KeyType::Ginc if !class => {
            let (gcp, r) = var("GINC", Cset::Cset82)?;
            format!("urn:epc:id:ginc:{gcp}.{r}")
        }
        KeyType::Cpid => {
            let (gcp, r) = var("CPID", Cset::Cset39)?;
            if class {
                format!("urn:epc:idpat:cpi:{gcp}.{r}.*")
            } else {
                format!(
                    "urn:epc:id:cpi:{gcp}.{r}.{}",
                    need(q("8011"), "CPID serial (8011)")?
                )
            }
        }
        KeyType::Gmn => return Err(inv("Digital Link", "AI 8013 (GMN) has no EPC URI")),
        k => {
            return Err(inv(
                "Digital Link",
                format!(
                    "AI {} identifies instances only: it has no EPC class",
                    k.ai()
                ),
            ));
        }
    };
    Ok(urn)
}

/// The EPC URN of a key path (unescaped GS1 data), escaped per TDS 2.0 (`" % & / < > ?` and `#`).
pub fn key_path_to_epc_urn(kp: &KeyPath, gcp_len: usize) -> Result<String, Gs1Error> {
    let esc = |s: &str| pct::encode(s, pct::urn_keep);
    let mut lexical = KeyPath {
        key: kp.key,
        value: esc(&kp.value),
        qualifiers: kp.qualifiers.iter().map(|(a, v)| (*a, esc(v))).collect(),
    };
    let class = match kp.key {
        KeyType::Gtin => kp.qualifier("21").is_none() && kp.qualifier("235").is_none(),
        KeyType::Grai => kp.value.len() == 14,
        KeyType::Gdti | KeyType::Gcn => kp.value.len() == 13,
        KeyType::Itip => kp.qualifier("21").is_none(),
        KeyType::Cpid => kp.qualifier("8011").is_none(),
        _ => false,
    };
    // Drop qualifiers the URN cannot carry (22, 7040, 8019; the lot of a serialised GTIN).
    let keep: &[&str] = match (kp.key, class) {
        (KeyType::Gtin, true) => &["10"],
        (KeyType::Gtin | KeyType::Itip, false) => &["21", "235"],
        (KeyType::Gln, _) => &["254"],
        (KeyType::Cpid, _) => &["8011"],
        _ => &[],
    };
    lexical.qualifiers.retain(|(a, _)| keep.contains(a));
    let dl = format!("{CANONICAL_HOST}{}", lexical.path(|_| true));
    to_urn(
        &dl,
        gcp_len,
        if class { Level::Class } else { Level::Instance },
    )
}
