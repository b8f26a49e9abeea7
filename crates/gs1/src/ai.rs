//! The GS1 Application Identifier table, read from the GS1 Barcode Syntax Dictionary embedded at
//! build time (`data/gs1-syntax-dictionary.txt`); no file I/O at run time.

use crate::cset::Cset;
use crate::lint::{LintOutcome, lint};
use std::sync::OnceLock;

/// The embedded GS1 Barcode Syntax Dictionary.
pub const SYNTAX_DICTIONARY: &str = include_str!("../data/gs1-syntax-dictionary.txt");

/// One component of an AI's data field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Component {
    /// Character set.
    pub cset: Cset,
    /// Minimum length (equal to `max` for fixed-length components).
    pub min: usize,
    /// Maximum length.
    pub max: usize,
    /// `[...]` in the dictionary: may be absent once the data is exhausted.
    pub optional: bool,
    /// Linters applied to this component.
    pub linters: Vec<&'static str>,
}

/// One Application Identifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AiEntry {
    /// The AI (2 to 4 digits).
    pub ai: String,
    /// `*` flag: pre-defined length, no FNC1 separator needed after it.
    pub predefined_length: bool,
    /// `?` flag: permitted as a GS1 Digital Link data attribute.
    pub dl_data_attr: bool,
    /// The components of the data field.
    pub components: Vec<Component>,
    /// `req=` attributes (each must be satisfied): alternatives of `+`-joined AI patterns.
    pub req: Vec<Vec<Vec<&'static str>>>,
    /// `ex=` patterns this AI may not appear with.
    pub ex: Vec<&'static str>,
    /// `dlpkey[=…]`: this AI is a Digital Link primary key; alternative qualifier sequences.
    pub dlpkey: Option<Vec<Vec<&'static str>>>,
    /// Title.
    pub title: &'static str,
    /// Not in the dictionary (an unknown AI accepted by option).
    pub unknown: bool,
}

impl AiEntry {
    /// Minimum and maximum length of the data field.
    pub fn length_range(&self) -> (usize, usize) {
        let min = self
            .components
            .iter()
            .filter(|c| !c.optional)
            .map(|c| c.min)
            .sum();
        let max = self.components.iter().map(|c| c.max).sum();
        (min, max)
    }

    /// Whether an FNC1 separator must follow this AI's data when another AI follows.
    pub fn needs_fnc1(&self) -> bool {
        !self.predefined_length
    }

    /// A generic entry for an AI that is not in the dictionary (`X..90`).
    pub fn unknown(ai: &str) -> AiEntry {
        AiEntry {
            ai: ai.to_string(),
            predefined_length: false,
            dl_data_attr: false,
            components: vec![Component {
                cset: Cset::Cset82,
                min: 1,
                max: 90,
                optional: false,
                linters: vec![],
            }],
            req: vec![],
            ex: vec![],
            dlpkey: None,
            title: "UNKNOWN",
            unknown: true,
        }
    }
}

/// Why an AI value was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueError {
    /// The rule, e.g. a GS1 linter code or "too long".
    pub rule: String,
}

/// The parsed table.
pub struct AiTable {
    entries: Vec<AiEntry>,
}

impl AiTable {
    /// The entry for `ai`.
    pub fn get(&self, ai: &str) -> Option<&AiEntry> {
        self.entries
            .binary_search_by(|e| e.ai.as_str().cmp(ai))
            .ok()
            .map(|i| &self.entries[i])
    }

    /// The entry whose AI is a prefix of `data` (AIs are prefix-free).
    pub fn find_prefix(&self, data: &str) -> Option<&AiEntry> {
        (2..=4)
            .filter_map(|n| data.get(..n))
            .find_map(|p| self.get(p))
    }

    /// All entries, ordered by AI.
    pub fn entries(&self) -> &[AiEntry] {
        &self.entries
    }
}

/// The AI table (parsed once from the embedded dictionary).
pub fn table() -> &'static AiTable {
    static TABLE: OnceLock<AiTable> = OnceLock::new();
    TABLE.get_or_init(|| parse_dictionary(SYNTAX_DICTIONARY))
}

/// Looks up an AI.
pub fn lookup(ai: &str) -> Option<&'static AiEntry> {
    table().get(ai)
}

fn parse_component(tok: &'static str) -> Option<Component> {
    let mut parts = tok.split(',');
    let head = parts.next()?;
    let optional = head.starts_with('[');
    let head = head.trim_start_matches('[').trim_end_matches(']');
    let cset = match head.as_bytes().first()? {
        b'N' => Cset::Numeric,
        b'X' => Cset::Cset82,
        b'Y' => Cset::Cset39,
        b'Z' => Cset::Cset64,
        _ => return None,
    };
    let len = &head[1..];
    let (min, max) = match len.strip_prefix("..") {
        Some(m) => (1, m.parse().ok()?),
        None => {
            let n = len.parse().ok()?;
            (n, n)
        }
    };
    Some(Component {
        cset,
        min,
        max,
        optional,
        linters: parts.collect(),
    })
}

fn parse_dictionary(text: &'static str) -> AiTable {
    let mut entries = Vec::new();
    for line in text.lines() {
        let (body, title) = match line.split_once('#') {
            Some((b, t)) => (b, t.trim()),
            None => (line, ""),
        };
        let mut toks = body.split_whitespace();
        let Some(ais) = toks.next() else { continue };
        let mut predefined_length = false;
        let mut dl_data_attr = false;
        let mut components = Vec::new();
        let mut req = Vec::new();
        let mut ex = Vec::new();
        let mut dlpkey = None;
        for tok in toks {
            if tok.bytes().all(|c| !c.is_ascii_alphanumeric() && c != b'[') {
                predefined_length |= tok.contains('*');
                dl_data_attr |= tok.contains('?');
            } else if let Some(r) = tok.strip_prefix("req=") {
                req.push(r.split(',').map(|g| g.split('+').collect()).collect());
            } else if let Some(r) = tok.strip_prefix("ex=") {
                ex.extend(r.split(','));
            } else if tok == "dlpkey" {
                dlpkey = Some(vec![vec![]]);
            } else if let Some(r) = tok.strip_prefix("dlpkey=") {
                dlpkey = Some(r.split('|').map(|s| s.split(',').collect()).collect());
            } else if let Some(c) = parse_component(tok) {
                components.push(c);
            }
        }
        let (lo, hi) = match ais.split_once('-') {
            Some((a, b)) => (a, b),
            None => (ais, ais),
        };
        let (Ok(a), Ok(b)) = (lo.parse::<u32>(), hi.parse::<u32>()) else {
            continue;
        };
        for n in a..=b {
            entries.push(AiEntry {
                ai: format!("{n:0width$}", width = lo.len()),
                predefined_length,
                dl_data_attr,
                components: components.clone(),
                req: req.clone(),
                ex: ex.clone(),
                dlpkey: dlpkey.clone(),
                title,
                unknown: false,
            });
        }
    }
    entries.sort_by(|x, y| x.ai.cmp(&y.ai));
    AiTable { entries }
}

/// Validates `value` against the components of `entry`: lengths, character sets and the linters
/// we implement (linters that need external code lists are not applied).
pub fn check_value(entry: &AiEntry, value: &str) -> Result<(), ValueError> {
    let err = |rule: String| Err(ValueError { rule });
    let (min, max) = entry.length_range();
    if value.len() < min {
        return err(format!("AI ({}) value too short (minimum {min})", entry.ai));
    }
    if value.len() > max {
        return err(format!("AI ({}) value too long (maximum {max})", entry.ai));
    }
    let b = value.as_bytes();
    let mut pos = 0;
    for c in &entry.components {
        let left = b.len() - pos;
        if left == 0 && c.optional {
            break;
        }
        let take = if c.min == c.max {
            c.max
        } else {
            left.min(c.max)
        };
        if take > left || take < c.min {
            return err(format!("AI ({}) component length", entry.ai));
        }
        let part = &b[pos..pos + take];
        let cset_linter = match c.cset {
            Cset::Numeric => "csetnumeric",
            Cset::Cset82 => "cset82",
            Cset::Cset39 => "cset39",
            Cset::Cset64 => "cset64",
        };
        for name in std::iter::once(&cset_linter).chain(c.linters.iter()) {
            if let LintOutcome::Err(e) = lint(name, part) {
                return err(format!("AI ({}): {}", entry.ai, e.code));
            }
        }
        pos += take;
    }
    if pos != b.len() {
        return err(format!("AI ({}) value too long", entry.ai));
    }
    Ok(())
}

/// Whether AI `ai` matches the dictionary pattern `pat` (`n` matches any digit).
pub fn matches_pattern(ai: &str, pat: &str) -> bool {
    ai.len() == pat.len()
        && ai
            .bytes()
            .zip(pat.bytes())
            .all(|(a, p)| a == p || (p == b'n' && a.is_ascii_digit()))
}
