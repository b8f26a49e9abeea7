//! Linters against the GS1 Barcode Syntax Tests vectors (code and error markup).

use crate::read_reference;
use gs1::lint::{LintOutcome, lint};
use std::collections::BTreeMap;

/// The reference renders data as Latin-1 characters, one per byte.
fn bytes(s: &str) -> Vec<u8> {
    s.chars()
        .map(|c| u8::try_from(u32::from(c)).expect("byte"))
        .collect()
}

/// The reference error markup: the span wrapped in '*', non-printables as \xHH, '"' and '\'
/// backslash-escaped.
fn markup(d: &[u8], pos: usize, len: usize) -> String {
    let esc = |b: &[u8]| {
        b.iter()
            .map(|&c| match c {
                b'"' => "\\\"".to_string(),
                b'\\' => "\\\\".to_string(),
                0x20..=0x7e => (c as char).to_string(),
                _ => format!("\\x{c:02X}"),
            })
            .collect::<String>()
    };
    format!(
        "{}*{}*{}",
        esc(&d[..pos]),
        esc(&d[pos..pos + len]),
        esc(&d[pos + len..])
    )
}

#[test]
fn linter_vectors() {
    let vectors: Vec<serde_json::Value> = serde_json::from_str(&read_reference(
        "gs1-syntax-dictionary/linter-test-vectors.json",
    ))
    .unwrap();
    assert_eq!(vectors.len(), 5668);
    let mut passed: BTreeMap<String, usize> = BTreeMap::new();
    let mut skipped: BTreeMap<(String, &'static str), usize> = BTreeMap::new();
    let mut failures = Vec::new();
    for v in &vectors {
        let name = v["linter"].as_str().unwrap();
        let data = bytes(v["data"].as_str().unwrap());
        let expect = v["expect"].as_str().unwrap();
        let outcome = lint(name, &data);
        let ok = match (&outcome, expect) {
            (LintOutcome::Unsupported(why), _) => {
                *skipped.entry((name.to_string(), *why)).or_default() += 1;
                continue;
            }
            (LintOutcome::Ok, "OK") => true,
            (LintOutcome::Err(e), code) if e.code == code => {
                v["errorMarkup"].as_str() == Some(&markup(&data, e.pos, e.len))
            }
            _ => false,
        };
        if ok {
            *passed.entry(name.to_string()).or_default() += 1;
        } else {
            failures.push(format!(
                "{name} {:?}: got {outcome:?}, expected {expect} {}",
                v["data"], v["errorMarkup"]
            ));
        }
    }
    let total: usize = passed.values().sum();
    let skipped_total: usize = skipped.values().sum();
    println!(
        "linter vectors: {total} passed, {skipped_total} skipped, {} failed",
        failures.len()
    );
    for (n, c) in &passed {
        println!("  {n}: {c}");
    }
    for ((n, why), c) in &skipped {
        println!("  skipped {n}: {c} ({why})");
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(total + skipped_total, 5668);
}
