//! GS1 element strings: bracketed (`(01)…(10)…`) and FNC1 (`^01…10…`) forms, value validation and
//! the AI association rules of the syntax dictionary (repeats, `ex=`, `req=`, digital signature).

use crate::ai::{self, AiEntry, check_value, matches_pattern};
use crate::error::Gs1Error;

/// Maximum number of AIs in one element string.
pub const MAX_AIS: usize = 64;
/// Maximum length of an element string (bytes).
pub const MAX_ELEMENT_STRING: usize = 1024;

/// One AI with its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AiValue {
    /// The AI.
    pub ai: String,
    /// Its value (raw GS1 data).
    pub value: String,
}

/// Options of element-string and Digital Link processing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AiOptions {
    /// Accept AIs that are not in the syntax dictionary (as `X..90`).
    pub permit_unknown_ais: bool,
    /// Accept unknown AIs as Digital Link data attributes (needs `permit_unknown_ais`).
    pub unknown_ai_as_dl_attr: bool,
    /// Accept the deprecated Digital Link short names (`gtin`, `ser`, …) as path AIs.
    pub permit_convenience_alphas: bool,
    /// Accept GTIN-8/12/13 for AI 01 in a Digital Link and pad them to GTIN-14.
    pub permit_zero_suppressed_gtin: bool,
}

fn err(rule: impl Into<String>) -> Gs1Error {
    Gs1Error::invalid("GS1 element string", rule)
}

/// The dictionary entry of `ai`, or an unknown-AI entry if permitted.
pub fn entry_for(ai: &str, opts: &AiOptions) -> Option<AiEntry> {
    if let Some(e) = ai::lookup(ai) {
        return Some(e.clone());
    }
    let numeric = (2..=4).contains(&ai.len()) && ai.bytes().all(|c| c.is_ascii_digit());
    (opts.permit_unknown_ais && numeric).then(|| AiEntry::unknown(ai))
}

/// Checks one AI value (length, character set, linters).
pub fn check_ai_value(entry: &AiEntry, value: &str) -> Result<(), Gs1Error> {
    check_value(entry, value).map_err(|e| err(e.rule))
}

/// Parses a bracketed element string `(01)12345678901231(10)ABC`; `\(` is a literal `(`.
pub fn parse_bracketed(s: &str, opts: &AiOptions) -> Result<Vec<AiValue>, Gs1Error> {
    if s.len() > MAX_ELEMENT_STRING {
        return Err(Gs1Error::TooLong {
            field: "GS1 element string",
            max: MAX_ELEMENT_STRING,
        });
    }
    let b = s.as_bytes();
    if b.first() != Some(&b'(') {
        return Err(err("must start with '(' and an AI"));
    }
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        // b[i] == '('
        let close = s[i + 1..]
            .find(')')
            .map(|p| p + i + 1)
            .ok_or_else(|| err("unclosed AI"))?;
        let ai = &s[i + 1..close];
        if !(2..=4).contains(&ai.len()) || !ai.bytes().all(|c| c.is_ascii_digit()) {
            return Err(err(format!("'({ai})' is not an AI")));
        }
        let entry = entry_for(ai, opts).ok_or_else(|| err(format!("unknown AI ({ai})")))?;
        let mut value = String::new();
        let mut j = close + 1;
        while j < b.len() && b[j] != b'(' {
            if b[j] == b'\\' && b.get(j + 1) == Some(&b'(') {
                value.push('(');
                j += 2;
            } else {
                let ch = s[j..].chars().next().unwrap_or('\u{fffd}');
                value.push(ch);
                j += ch.len_utf8();
            }
        }
        if value.is_empty() {
            return Err(err(format!("AI ({ai}) has no value")));
        }
        check_ai_value(&entry, &value)?;
        out.push(AiValue {
            ai: ai.to_string(),
            value,
        });
        if out.len() > MAX_AIS {
            return Err(err(format!("more than {MAX_AIS} AIs")));
        }
        i = j;
    }
    Ok(out)
}

/// The FNC1 form (`^` = FNC1) of AI values: `^` first, and after every AI whose length is not
/// pre-defined when another AI follows.
pub fn to_fnc1_string(ais: &[AiValue], opts: &AiOptions) -> String {
    let mut s = String::new();
    let mut fnc1 = true;
    for a in ais {
        if fnc1 {
            s.push('^');
        }
        s.push_str(&a.ai);
        s.push_str(&a.value);
        fnc1 = entry_for(&a.ai, opts).is_none_or(|e| e.needs_fnc1());
    }
    s
}

/// Parses and validates an FNC1 element string (`^0112345678901231^10ABC`).
pub fn parse_fnc1(s: &str, opts: &AiOptions) -> Result<Vec<AiValue>, Gs1Error> {
    if s.len() > MAX_ELEMENT_STRING {
        return Err(Gs1Error::TooLong {
            field: "GS1 element string",
            max: MAX_ELEMENT_STRING,
        });
    }
    let Some(mut rest) = s.strip_prefix('^') else {
        return Err(err("must start with FNC1 ('^')"));
    };
    if rest.is_empty() {
        return Err(err("no AI after FNC1"));
    }
    let mut out = Vec::new();
    while !rest.is_empty() {
        let entry = ai::table()
            .find_prefix(rest)
            .cloned()
            .or_else(|| {
                // Unknown AIs: take the shortest numeric prefix (2 digits) when permitted.
                rest.get(..2).and_then(|p| entry_for(p, opts))
            })
            .ok_or_else(|| {
                err(format!(
                    "no known AI at '{}'",
                    rest.chars().take(4).collect::<String>()
                ))
            })?;
        let after = &rest[entry.ai.len()..];
        let (min, max) = entry.length_range();
        let end = if entry.predefined_length && min == max {
            if after.len() < max {
                return Err(err(format!("AI ({}) value too short", entry.ai)));
            }
            max
        } else {
            after.find('^').unwrap_or(after.len())
        };
        let value = after
            .get(..end)
            .ok_or_else(|| err(format!("AI ({}) value is not valid text", entry.ai)))?;
        check_ai_value(&entry, value)?;
        out.push(AiValue {
            ai: entry.ai.clone(),
            value: value.to_string(),
        });
        if out.len() > MAX_AIS {
            return Err(err(format!("more than {MAX_AIS} AIs")));
        }
        rest = &after[end..];
        if let Some(r) = rest.strip_prefix('^') {
            rest = r;
        }
    }
    Ok(out)
}

/// Rule: an AI may repeat only with the same value.
pub fn check_repeats(ais: &[AiValue]) -> Result<(), Gs1Error> {
    for (i, a) in ais.iter().enumerate() {
        if ais[..i].iter().any(|b| b.ai == a.ai && b.value != a.value) {
            return Err(err(format!("AI ({}) repeats with a different value", a.ai)));
        }
    }
    Ok(())
}

/// Rule `ex=`: an AI may not appear together with the AIs it excludes.
pub fn check_mutex(ais: &[AiValue]) -> Result<(), Gs1Error> {
    for a in ais {
        let Some(e) = ai::lookup(&a.ai) else { continue };
        for b in ais {
            if b.ai != a.ai && e.ex.iter().any(|p| matches_pattern(&b.ai, p)) {
                return Err(err(format!("AI ({}) may not appear with ({})", a.ai, b.ai)));
            }
        }
    }
    Ok(())
}

/// Rule `req=`: each requirement of each AI is met by one of its alternatives.
pub fn check_requisites(ais: &[AiValue]) -> Result<(), Gs1Error> {
    let present = |pat: &str| ais.iter().any(|b| matches_pattern(&b.ai, pat));
    for a in ais {
        let Some(e) = ai::lookup(&a.ai) else { continue };
        for req in &e.req {
            if !req.iter().any(|group| group.iter().all(|p| present(p))) {
                let alts: Vec<String> = req.iter().map(|g| g.join("+")).collect();
                return Err(err(format!(
                    "AI ({}) requires one of {}",
                    a.ai,
                    alts.join(", ")
                )));
            }
        }
    }
    Ok(())
}

/// Rule: a digital signature (8030) needs a serialised key: GDTI (253), GCN (255) and GRAI (8003)
/// with their serial component.
pub fn check_digsig_serialised(ais: &[AiValue]) -> Result<(), Gs1Error> {
    if !ais.iter().any(|a| a.ai == "8030") {
        return Ok(());
    }
    for a in ais {
        let min = match a.ai.as_str() {
            "253" | "255" => 13,
            "8003" => 14,
            _ => continue,
        };
        if a.value.len() <= min {
            return Err(err(format!(
                "AI (8030) needs a serialised key: ({}) has no serial",
                a.ai
            )));
        }
    }
    Ok(())
}

/// All association rules.
pub fn check_associations(ais: &[AiValue]) -> Result<(), Gs1Error> {
    check_repeats(ais)?;
    check_mutex(ais)?;
    check_requisites(ais)?;
    check_digsig_serialised(ais)
}
