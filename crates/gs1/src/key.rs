//! GS1 identification keys as they appear in Digital Link paths, and the canonical Digital Link.

use crate::cset::Cset;
use crate::pct;

/// The primary GS1 identification keys a Digital Link path can start with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyType {
    /// AI 00 SSCC.
    Sscc,
    /// AI 01 GTIN.
    Gtin,
    /// AI 253 GDTI.
    Gdti,
    /// AI 255 GCN.
    Gcn,
    /// AI 401 GINC.
    Ginc,
    /// AI 402 GSIN.
    Gsin,
    /// AI 414 GLN of a physical location.
    Gln,
    /// AI 417 party GLN.
    Pgln,
    /// AI 8003 GRAI.
    Grai,
    /// AI 8004 GIAI.
    Giai,
    /// AI 8006 ITIP.
    Itip,
    /// AI 8010 CPID.
    Cpid,
    /// AI 8013 GMN.
    Gmn,
    /// AI 8017 GSRN provider.
    Gsrnp,
    /// AI 8018 GSRN recipient.
    Gsrn,
}

/// All key types, for iteration.
pub const KEY_TYPES: [KeyType; 15] = [
    KeyType::Sscc,
    KeyType::Gtin,
    KeyType::Gdti,
    KeyType::Gcn,
    KeyType::Ginc,
    KeyType::Gsin,
    KeyType::Gln,
    KeyType::Pgln,
    KeyType::Grai,
    KeyType::Giai,
    KeyType::Itip,
    KeyType::Cpid,
    KeyType::Gmn,
    KeyType::Gsrnp,
    KeyType::Gsrn,
];

impl KeyType {
    /// The application identifier.
    pub fn ai(self) -> &'static str {
        match self {
            KeyType::Sscc => "00",
            KeyType::Gtin => "01",
            KeyType::Gdti => "253",
            KeyType::Gcn => "255",
            KeyType::Ginc => "401",
            KeyType::Gsin => "402",
            KeyType::Gln => "414",
            KeyType::Pgln => "417",
            KeyType::Grai => "8003",
            KeyType::Giai => "8004",
            KeyType::Itip => "8006",
            KeyType::Cpid => "8010",
            KeyType::Gmn => "8013",
            KeyType::Gsrnp => "8017",
            KeyType::Gsrn => "8018",
        }
    }

    /// The GS1 Digital Link 1.0 short name ("convenience alpha").
    pub fn short_name(self) -> &'static str {
        match self {
            KeyType::Sscc => "sscc",
            KeyType::Gtin => "gtin",
            KeyType::Gdti => "gdti",
            KeyType::Gcn => "gcn",
            KeyType::Ginc => "ginc",
            KeyType::Gsin => "gsin",
            KeyType::Gln => "gln",
            KeyType::Pgln => "party",
            KeyType::Grai => "grai",
            KeyType::Giai => "giai",
            KeyType::Itip => "itip",
            KeyType::Cpid => "cpid",
            KeyType::Gmn => "gmn",
            KeyType::Gsrnp => "gsrnp",
            KeyType::Gsrn => "gsrn",
        }
    }

    /// The key type for a path segment (AI or short name).
    pub fn from_segment(seg: &str) -> Option<KeyType> {
        KEY_TYPES
            .iter()
            .copied()
            .find(|k| k.ai() == seg || k.short_name() == seg)
    }

    /// The key qualifiers allowed after this key, in the order GS1 Digital Link requires.
    /// Alternative sequences are listed separately (e.g. 01 takes 22/10/21 or 235).
    pub fn qualifier_sequences(self) -> &'static [&'static [&'static str]] {
        match self {
            KeyType::Gtin => &[&["22", "10", "21"], &["235"]],
            KeyType::Itip => &[&["22", "10", "21"]],
            KeyType::Gln => &[&["254"], &["7040"]],
            KeyType::Pgln => &[&["7040"]],
            KeyType::Cpid => &[&["8011"]],
            KeyType::Gsrnp | KeyType::Gsrn => &[&["8019"]],
            _ => &[],
        }
    }

    /// Validates the unescaped value of this key (format only; check digits are not checked here,
    /// see the key newtypes for that). Returns the rule that was broken.
    pub fn check_value(self, v: &str) -> Result<(), &'static str> {
        let digits = |s: &str| s.bytes().all(|c| c.is_ascii_digit());
        let n = v.len();
        let lead_digits = |k: usize| v.get(..k).is_some_and(digits);
        let ok = match self {
            KeyType::Sscc | KeyType::Itip | KeyType::Gsrnp | KeyType::Gsrn => n == 18 && digits(v),
            KeyType::Gtin => n == 14 && digits(v),
            KeyType::Gln | KeyType::Pgln => n == 13 && digits(v),
            KeyType::Gsin => n == 17 && digits(v),
            KeyType::Gdti => {
                lead_digits(13) && n <= 30 && Cset::Cset82.first_invalid(&v[13..]).is_none()
            }
            KeyType::Gcn => (13..=25).contains(&n) && digits(v),
            KeyType::Grai => {
                lead_digits(14) && n <= 30 && Cset::Cset82.first_invalid(&v[14..]).is_none()
            }
            KeyType::Ginc | KeyType::Giai => {
                lead_digits(4) && n <= 30 && Cset::Cset82.first_invalid(v).is_none()
            }
            KeyType::Gmn => lead_digits(4) && n <= 30 && Cset::Cset82.first_invalid(v).is_none(),
            KeyType::Cpid => lead_digits(4) && n <= 30 && Cset::Cset39.first_invalid(v).is_none(),
        };
        if ok { Ok(()) } else { Err(self.value_rule()) }
    }

    fn value_rule(self) -> &'static str {
        match self {
            KeyType::Sscc => "AI 00 (SSCC) is 18 digits",
            KeyType::Gtin => "AI 01 (GTIN) is 8, 12, 13 or 14 digits",
            KeyType::Gdti => "AI 253 (GDTI) is 13 digits and up to 17 CSET 82 characters",
            KeyType::Gcn => "AI 255 (GCN) is 13 digits and up to 12 digits",
            KeyType::Ginc => "AI 401 (GINC) is up to 30 CSET 82 characters starting with the GCP",
            KeyType::Gsin => "AI 402 (GSIN) is 17 digits",
            KeyType::Gln => "AI 414 (GLN) is 13 digits",
            KeyType::Pgln => "AI 417 (party GLN) is 13 digits",
            KeyType::Grai => "AI 8003 (GRAI) is 14 digits and up to 16 CSET 82 characters",
            KeyType::Giai => "AI 8004 (GIAI) is up to 30 CSET 82 characters starting with the GCP",
            KeyType::Itip => "AI 8006 (ITIP) is 18 digits",
            KeyType::Cpid => "AI 8010 (CPID) is up to 30 CSET 39 characters starting with the GCP",
            KeyType::Gmn => "AI 8013 (GMN) is up to 30 CSET 82 characters starting with the GCP",
            KeyType::Gsrnp => "AI 8017 (GSRN provider) is 18 digits",
            KeyType::Gsrn => "AI 8018 (GSRN recipient) is 18 digits",
        }
    }
}

/// Short names of key qualifiers (GS1 Digital Link 1.0 convenience alphas).
pub fn qualifier_from_segment(seg: &str) -> Option<&'static str> {
    Some(match seg {
        "22" | "cpv" => "22",
        "10" | "lot" => "10",
        "21" | "ser" => "21",
        "235" => "235",
        "254" | "glnx" => "254",
        "7040" => "7040",
        "8011" | "cpsn" => "8011",
        "8019" | "srin" => "8019",
        _ => return None,
    })
}

/// Validates an unescaped key-qualifier value.
pub fn check_qualifier(ai: &str, v: &str) -> Result<(), &'static str> {
    let n = v.len();
    let x = |max: usize| (1..=max).contains(&n) && Cset::Cset82.first_invalid(v).is_none();
    let d = |max: usize| (1..=max).contains(&n) && v.bytes().all(|c| c.is_ascii_digit());
    let (ok, rule) = match ai {
        "22" => (x(20), "AI 22 (CPV) is 1 to 20 CSET 82 characters"),
        "10" => (x(20), "AI 10 (batch/lot) is 1 to 20 CSET 82 characters"),
        "21" => (x(20), "AI 21 (serial) is 1 to 20 CSET 82 characters"),
        "235" => (x(28), "AI 235 (TPX) is 1 to 28 CSET 82 characters"),
        "254" => (
            x(20),
            "AI 254 (GLN extension) is 1 to 20 CSET 82 characters",
        ),
        "7040" => (
            n == 4 && x(4),
            "AI 7040 (UIC with extension) is 4 characters",
        ),
        "8011" => (d(12), "AI 8011 (CPID serial) is 1 to 12 digits"),
        "8019" => (d(10), "AI 8019 (SRIN) is 1 to 10 digits"),
        _ => (false, "not a GS1 Digital Link key qualifier"),
    };
    if ok { Ok(()) } else { Err(rule) }
}

/// A GS1 key with its key qualifiers; all values are unescaped GS1 data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPath {
    /// The primary key.
    pub key: KeyType,
    /// The key's value (for GTIN always 14 digits).
    pub value: String,
    /// Key qualifiers as (AI, value) in Digital Link order.
    pub qualifiers: Vec<(&'static str, String)>,
}

impl KeyPath {
    /// The qualifier value for `ai`, if present.
    pub fn qualifier(&self, ai: &str) -> Option<&str> {
        self.qualifiers
            .iter()
            .find(|(a, _)| *a == ai)
            .map(|(_, v)| v.as_str())
    }

    /// Keeps only the most fine-grained level of identification that the CBV 2.0 event hash
    /// keeps: `00 / 01 / 01 21 / 01 10 / 01 235 / 253 / 255 / 401 / 402 / 414 / 414 254 / 417 /
    /// 8003 / 8004 / 8006 / 8006 21 / 8006 10 / 8010 / 8010 8011 / 8017 / 8018` (and 8013 alone).
    pub fn most_specific(&self) -> KeyPath {
        let pick: &[&str] = match self.key {
            KeyType::Gtin => &["21", "235", "10"],
            KeyType::Itip => &["21", "10"],
            KeyType::Gln => &["254"],
            KeyType::Cpid => &["8011"],
            _ => &[],
        };
        let qualifiers = pick
            .iter()
            .find_map(|ai| self.qualifier(ai).map(|v| vec![(*ai, v.to_string())]))
            .unwrap_or_default();
        KeyPath {
            key: self.key,
            value: self.value.clone(),
            qualifiers,
        }
    }

    /// The Digital Link path (`/01/…/21/…`) with values escaped by `keep`.
    pub fn path(&self, keep: fn(u8) -> bool) -> String {
        let mut s = String::with_capacity(64);
        s.push('/');
        s.push_str(self.key.ai());
        s.push('/');
        s.push_str(&pct::encode(&self.value, keep));
        for (ai, v) in &self.qualifiers {
            s.push('/');
            s.push_str(ai);
            s.push('/');
            s.push_str(&pct::encode(v, keep));
        }
        s
    }

    /// The canonical Digital Link of the CBV 2.0 event hash: `https://id.gs1.org` + the most
    /// specific key path, values escaped as the hash algorithm escapes them.
    pub fn canonical_dl(&self) -> String {
        let mut s = String::with_capacity(64);
        self.write_canonical_dl(&mut s);
        s
    }

    /// [`KeyPath::canonical_dl`] appended to `out`, without building the most specific key path.
    pub fn write_canonical_dl(&self, out: &mut String) {
        let keep = pct::hash_canonical_keep;
        out.push_str(crate::CANONICAL_HOST);
        out.push('/');
        out.push_str(self.key.ai());
        out.push('/');
        pct::encode_into(&self.value, keep, out);
        let pick: &[&str] = match self.key {
            KeyType::Gtin => &["21", "235", "10"],
            KeyType::Itip => &["21", "10"],
            KeyType::Gln => &["254"],
            KeyType::Cpid => &["8011"],
            _ => &[],
        };
        if let Some((ai, v)) = pick
            .iter()
            .find_map(|ai| self.qualifier(ai).map(|v| (*ai, v)))
        {
            out.push('/');
            out.push_str(ai);
            out.push('/');
            pct::encode_into(v, keep, out);
        }
    }

    /// Validates key and qualifier values and the qualifier sequence.
    pub fn validate(&self) -> Result<(), &'static str> {
        self.key.check_value(&self.value)?;
        for (ai, v) in &self.qualifiers {
            check_qualifier(ai, v)?;
        }
        if self.qualifiers.is_empty() {
            return Ok(());
        }
        let ok = self.key.qualifier_sequences().iter().any(|seq| {
            let mut pos = 0;
            self.qualifiers
                .iter()
                .all(|(ai, _)| match seq[pos..].iter().position(|q| q == ai) {
                    Some(p) => {
                        pos += p + 1;
                        true
                    }
                    None => false,
                })
        });
        if ok {
            Ok(())
        } else {
            Err("key qualifiers not allowed for this key or out of order")
        }
    }
}
