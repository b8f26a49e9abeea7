//! EPC URIs (GS1 EPC Tag Data Standard 2.0 pure-identity, class and pattern URNs).

use crate::checkdigit::with_mod10;
use crate::cset::Cset;
use crate::error::Gs1Error;
use crate::key::{KeyPath, KeyType};
use crate::{MAX_URI_LEN, pct};

/// The EPC schemes that carry a GS1 key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EpcScheme {
    /// SGTIN (GTIN + serial).
    Sgtin,
    /// SSCC.
    Sscc,
    /// SGLN (GLN + extension).
    Sgln,
    /// GRAI.
    Grai,
    /// GIAI.
    Giai,
    /// GSRN (recipient).
    Gsrn,
    /// GSRN-P (provider).
    Gsrnp,
    /// GDTI.
    Gdti,
    /// CPI (component / part).
    Cpi,
    /// SGCN (coupon).
    Sgcn,
    /// GINC (consignment).
    Ginc,
    /// GSIN (shipment).
    Gsin,
    /// ITIP (trade item piece).
    Itip,
    /// UPUI (GTIN + TPX).
    Upui,
    /// PGLN (party).
    Pgln,
    /// LGTIN (GTIN + lot), only as `urn:epc:class:lgtin:`.
    Lgtin,
}

impl EpcScheme {
    /// The scheme name in the URN.
    pub fn name(self) -> &'static str {
        match self {
            EpcScheme::Sgtin => "sgtin",
            EpcScheme::Sscc => "sscc",
            EpcScheme::Sgln => "sgln",
            EpcScheme::Grai => "grai",
            EpcScheme::Giai => "giai",
            EpcScheme::Gsrn => "gsrn",
            EpcScheme::Gsrnp => "gsrnp",
            EpcScheme::Gdti => "gdti",
            EpcScheme::Cpi => "cpi",
            EpcScheme::Sgcn => "sgcn",
            EpcScheme::Ginc => "ginc",
            EpcScheme::Gsin => "gsin",
            EpcScheme::Itip => "itip",
            EpcScheme::Upui => "upui",
            EpcScheme::Pgln => "pgln",
            EpcScheme::Lgtin => "lgtin",
        }
    }

    fn from_name(s: &str) -> Option<Self> {
        ALL_SCHEMES.iter().copied().find(|x| x.name() == s)
    }

    /// The component layout after the company prefix.
    fn layout(self) -> &'static [Comp] {
        use Comp::*;
        match self {
            EpcScheme::Sgtin => &[Digits(13), Text(Cset::Cset82, 20)],
            EpcScheme::Lgtin => &[Digits(13), Text(Cset::Cset82, 20)],
            EpcScheme::Upui => &[Digits(13), Text(Cset::Cset82, 28)],
            EpcScheme::Sscc => &[Digits(17)],
            EpcScheme::Sgln => &[Digits(12), Text(Cset::Cset82, 20)],
            EpcScheme::Grai => &[Digits(12), Text(Cset::Cset82, 16)],
            EpcScheme::Gdti => &[Digits(12), Text(Cset::Cset82, 17)],
            EpcScheme::Sgcn => &[Digits(12), Num(12)],
            EpcScheme::Giai | EpcScheme::Ginc => &[Rest(Cset::Cset82, 30)],
            EpcScheme::Gsrn | EpcScheme::Gsrnp => &[Digits(17)],
            EpcScheme::Gsin => &[Digits(16)],
            EpcScheme::Pgln => &[Digits(12)],
            EpcScheme::Cpi => &[Rest(Cset::Cset39, 30), Num(12)],
            EpcScheme::Itip => &[Digits(13), Fixed(2), Fixed(2), Text(Cset::Cset82, 20)],
        }
    }
}

const ALL_SCHEMES: [EpcScheme; 16] = [
    EpcScheme::Sgtin,
    EpcScheme::Sscc,
    EpcScheme::Sgln,
    EpcScheme::Grai,
    EpcScheme::Giai,
    EpcScheme::Gsrn,
    EpcScheme::Gsrnp,
    EpcScheme::Gdti,
    EpcScheme::Cpi,
    EpcScheme::Sgcn,
    EpcScheme::Ginc,
    EpcScheme::Gsin,
    EpcScheme::Itip,
    EpcScheme::Upui,
    EpcScheme::Pgln,
    EpcScheme::Lgtin,
];

/// One component of an EPC URN body after the company prefix.
#[derive(Debug, Clone, Copy)]
enum Comp {
    /// Digits so that company prefix + this = n digits.
    Digits(usize),
    /// Exactly n digits.
    Fixed(usize),
    /// 1..=n digits.
    Num(usize),
    /// 1..=n characters of a set (after unescaping).
    Text(Cset, usize),
    /// Characters of a set such that company prefix + this <= n (may be empty only with a
    /// 12-digit company prefix).
    Rest(Cset, usize),
}

/// The kind of EPC URN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrnKind {
    /// `urn:epc:id:` — one instance.
    Id,
    /// `urn:epc:class:` — a class (LGTIN).
    Class,
    /// `urn:epc:idpat:` — a pattern.
    Pattern,
}

/// A parsed EPC URN. Components are kept verbatim (as written, escapes included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpcUrn {
    /// id / class / idpat.
    pub kind: UrnKind,
    /// The scheme.
    pub scheme: EpcScheme,
    /// The GS1 Company Prefix (`None` for a pattern with `*` in its place).
    pub gcp: Option<String>,
    /// The components after the company prefix, verbatim; for a pattern, the components before
    /// the first `*` (the rest are wildcards).
    pub parts: Vec<String>,
}

fn bad(field: &'static str, rule: impl Into<String>) -> Gs1Error {
    Gs1Error::invalid(field, rule)
}

fn unescape(s: &str) -> Result<String, Gs1Error> {
    pct::decode_lenient(s).ok_or_else(|| bad("EPC URI", "escape is not UTF-8"))
}

impl EpcUrn {
    /// Parses `urn:epc:id:…`, `urn:epc:class:lgtin:…` or `urn:epc:idpat:…`.
    pub fn parse(urn: &str) -> Result<EpcUrn, Gs1Error> {
        if urn.len() > MAX_URI_LEN {
            return Err(Gs1Error::TooLong {
                field: "EPC URI",
                max: MAX_URI_LEN,
            });
        }
        let (kind, rest) = if let Some(r) = urn.strip_prefix("urn:epc:id:") {
            (UrnKind::Id, r)
        } else if let Some(r) = urn.strip_prefix("urn:epc:class:") {
            (UrnKind::Class, r)
        } else if let Some(r) = urn.strip_prefix("urn:epc:idpat:") {
            (UrnKind::Pattern, r)
        } else {
            return Err(bad(
                "EPC URI",
                "must start with urn:epc:id:, urn:epc:class: or urn:epc:idpat:",
            ));
        };
        let Some((name, body)) = rest.split_once(':') else {
            return Err(bad("EPC URI", "missing scheme"));
        };
        let Some(scheme) = EpcScheme::from_name(name) else {
            return Err(bad(
                "EPC scheme",
                format!("'{name}' is not a GS1 EPC scheme"),
            ));
        };
        match (kind, scheme) {
            (UrnKind::Class, EpcScheme::Lgtin) => {}
            (UrnKind::Class, _) => {
                return Err(bad("EPC class", "only urn:epc:class:lgtin: is defined"));
            }
            (_, EpcScheme::Lgtin) => {
                return Err(bad(
                    "EPC scheme",
                    "lgtin is only an EPC class (urn:epc:class:lgtin:)",
                ));
            }
            _ => {}
        }
        let layout = scheme.layout();
        let mut fields: Vec<&str> = body.splitn(layout.len() + 1, '.').collect();
        if fields.len() != layout.len() + 1 {
            return Err(bad(
                "EPC URI",
                format!(
                    "{} needs {} '.'-separated components",
                    scheme.name(),
                    layout.len() + 1
                ),
            ));
        }
        // A Rest component cannot contain '.', but the last Text may: splitn keeps it whole.
        if kind == UrnKind::Pattern {
            return Self::parse_pattern(scheme, &fields);
        }
        let gcp = fields.remove(0);
        check_gcp(gcp)?;
        for (comp, f) in layout.iter().zip(&fields) {
            check_comp(*comp, gcp.len(), f)?;
        }
        Ok(EpcUrn {
            kind,
            scheme,
            gcp: Some(gcp.to_string()),
            parts: fields.iter().map(|s| s.to_string()).collect(),
        })
    }

    fn parse_pattern(scheme: EpcScheme, fields: &[&str]) -> Result<EpcUrn, Gs1Error> {
        // Wildcards must be trailing: once '*' appears, every later component is '*'.
        let first_star = fields
            .iter()
            .position(|f| *f == "*")
            .unwrap_or(fields.len());
        if fields[first_star..].iter().any(|f| *f != "*") {
            return Err(bad("EPC pattern", "'*' may only be followed by '*'"));
        }
        let layout = scheme.layout();
        let mut gcp = None;
        let mut parts = Vec::new();
        for (i, f) in fields[..first_star].iter().enumerate() {
            if i == 0 {
                check_gcp(f)?;
                gcp = Some(f.to_string());
            } else {
                let glen = gcp.as_ref().map_or(0, |g: &String| g.len());
                check_comp(layout[i - 1], glen, f)?;
                parts.push(f.to_string());
            }
        }
        Ok(EpcUrn {
            kind: UrnKind::Pattern,
            scheme,
            gcp,
            parts,
        })
    }

    /// Whether this (pattern) URN has no wildcard, i.e. names one instance.
    pub fn is_complete(&self) -> bool {
        self.gcp.is_some() && self.parts.len() == self.scheme.layout().len()
    }

    /// Whether this pattern is "all serials of one class" (`CP.REF.*` etc.): every component but
    /// the serial is given. Such a pattern has a class-level Digital Link.
    pub fn is_class_pattern(&self) -> bool {
        let n = self.scheme.layout().len();
        self.kind == UrnKind::Pattern
            && self.gcp.is_some()
            && self.parts.len() + 1 == n
            && matches!(
                self.scheme,
                EpcScheme::Sgtin
                    | EpcScheme::Grai
                    | EpcScheme::Gdti
                    | EpcScheme::Sgcn
                    | EpcScheme::Cpi
                    | EpcScheme::Itip
                    | EpcScheme::Upui
            )
    }

    /// The key path, with components transformed by `f` (verbatim or unescaped). Returns `None`
    /// for a pattern that is neither complete nor a class pattern.
    fn build(&self, f: &dyn Fn(&str) -> Result<String, Gs1Error>) -> Result<KeyPath, Gs1Error> {
        let Some(gcp) = self.gcp.as_deref() else {
            return Err(bad(
                "EPC pattern",
                "company prefix is '*': no single Digital Link",
            ));
        };
        let complete = self.kind != UrnKind::Pattern || self.is_complete();
        if !complete && !self.is_class_pattern() {
            return Err(bad(
                "EPC pattern",
                "only CP.REF.* (all serials of one class) has a Digital Link",
            ));
        }
        let p = |i: usize| self.parts.get(i).map(String::as_str).unwrap_or("");
        let ck = |digits: &str| with_mod10(digits).ok_or_else(|| bad("EPC URI", "non-digit key"));
        let gtin = |ir: &str| ck(&format!("{}{}{}", &ir[..1], gcp, &ir[1..]));
        let q = |ai: &'static str, i: usize| -> Result<Vec<(&'static str, String)>, Gs1Error> {
            if complete {
                Ok(vec![(ai, f(p(i))?)])
            } else {
                Ok(vec![])
            }
        };
        let serial_suffix = |i: usize| -> Result<String, Gs1Error> {
            if complete { f(p(i)) } else { Ok(String::new()) }
        };
        let (key, value, qualifiers) = match self.scheme {
            EpcScheme::Sgtin => (KeyType::Gtin, gtin(p(0))?, q("21", 1)?),
            EpcScheme::Lgtin => (KeyType::Gtin, gtin(p(0))?, q("10", 1)?),
            EpcScheme::Upui => (KeyType::Gtin, gtin(p(0))?, q("235", 1)?),
            EpcScheme::Sscc => (KeyType::Sscc, gtin(p(0))?, vec![]),
            EpcScheme::Sgln => {
                let ext = f(p(1))?;
                let quals = if ext == "0" {
                    vec![]
                } else {
                    vec![("254", ext)]
                };
                (KeyType::Gln, ck(&format!("{gcp}{}", p(0)))?, quals)
            }
            EpcScheme::Grai => {
                let v = ck(&format!("0{gcp}{}", p(0)))? + &serial_suffix(1)?;
                (KeyType::Grai, v, vec![])
            }
            EpcScheme::Gdti => {
                let v = ck(&format!("{gcp}{}", p(0)))? + &serial_suffix(1)?;
                (KeyType::Gdti, v, vec![])
            }
            EpcScheme::Sgcn => {
                let v = ck(&format!("{gcp}{}", p(0)))? + &serial_suffix(1)?;
                (KeyType::Gcn, v, vec![])
            }
            EpcScheme::Giai => (KeyType::Giai, format!("{gcp}{}", f(p(0))?), vec![]),
            EpcScheme::Ginc => (KeyType::Ginc, format!("{gcp}{}", f(p(0))?), vec![]),
            EpcScheme::Gsrn => (KeyType::Gsrn, ck(&format!("{gcp}{}", p(0)))?, vec![]),
            EpcScheme::Gsrnp => (KeyType::Gsrnp, ck(&format!("{gcp}{}", p(0)))?, vec![]),
            EpcScheme::Gsin => (KeyType::Gsin, ck(&format!("{gcp}{}", p(0)))?, vec![]),
            EpcScheme::Pgln => (KeyType::Pgln, ck(&format!("{gcp}{}", p(0)))?, vec![]),
            EpcScheme::Cpi => (KeyType::Cpid, format!("{gcp}{}", f(p(0))?), q("8011", 1)?),
            EpcScheme::Itip => {
                let v = gtin(p(0))? + p(1) + p(2);
                (KeyType::Itip, v, q("21", 3)?)
            }
        };
        Ok(KeyPath {
            key,
            value,
            qualifiers,
        })
    }

    /// The key path with unescaped values (GS1 data).
    pub fn key_path(&self) -> Result<KeyPath, Gs1Error> {
        self.build(&unescape)
    }

    /// The key path with the URN's components copied verbatim (escapes kept as written).
    pub fn key_path_verbatim(&self) -> Result<KeyPath, Gs1Error> {
        self.build(&|s: &str| Ok(s.to_string()))
    }
}

fn check_gcp(gcp: &str) -> Result<(), Gs1Error> {
    if !(6..=12).contains(&gcp.len()) || !gcp.bytes().all(|c| c.is_ascii_digit()) {
        return Err(bad("GS1 Company Prefix", "must be 6 to 12 digits"));
    }
    Ok(())
}

fn check_comp(comp: Comp, gcp_len: usize, f: &str) -> Result<(), Gs1Error> {
    let digits = |s: &str| s.bytes().all(|c| c.is_ascii_digit());
    match comp {
        Comp::Digits(total) => {
            if f.len() + gcp_len != total || !digits(f) {
                return Err(bad(
                    "EPC URI",
                    format!("company prefix and reference must be {total} digits together"),
                ));
            }
        }
        Comp::Fixed(n) => {
            if f.len() != n || !digits(f) {
                return Err(bad("EPC URI", format!("component must be {n} digits")));
            }
        }
        Comp::Num(max) => {
            if f.is_empty() || f.len() > max || !digits(f) {
                return Err(bad("serial", format!("must be 1 to {max} digits")));
            }
        }
        Comp::Text(cset, max) => {
            let u = unescape(f)?;
            if u.is_empty() || u.len() > max || cset.first_invalid(&u).is_some() {
                return Err(bad(
                    "serial",
                    format!("must be 1 to {max} characters of {cset:?}"),
                ));
            }
        }
        Comp::Rest(cset, max) => {
            let u = unescape(f)?;
            if u.len() + gcp_len > max || cset.first_invalid(&u).is_some() {
                return Err(bad(
                    "EPC URI",
                    format!(
                        "company prefix and reference must be at most {max} characters of {cset:?}"
                    ),
                ));
            }
            if u.is_empty() && gcp_len != 12 {
                return Err(bad("EPC URI", "reference is empty"));
            }
        }
    }
    Ok(())
}
