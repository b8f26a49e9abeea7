//! GS1 Barcode Syntax Engine vectors: Digital Link parse/generate, URI unescape, AI element
//! strings and AI association rules.

use crate::read_reference;
use gs1::dlsyntax::{generate_dl_uri, parse_dl_uri, uri_unescape};
use gs1::element::{
    AiOptions, check_digsig_serialised, check_mutex, check_repeats, check_requisites,
    parse_bracketed, parse_fnc1, to_fnc1_string,
};
use std::collections::BTreeMap;

const VECTORS: &str = "gs1-syntax-dictionary/gs1-syntax-engine-dl-ai-test-vectors.json";

fn vectors(kind: &str) -> Vec<(u64, Vec<String>)> {
    let all: serde_json::Value = serde_json::from_str(&read_reference(VECTORS)).unwrap();
    all[kind]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            let args = v["args"].as_array().unwrap();
            (
                v["line"].as_u64().unwrap(),
                args.iter()
                    .map(|a| a.as_str().unwrap().to_string())
                    .collect(),
            )
        })
        .collect()
}

/// Encoder options the C unit tests switch on around these source lines of `dl.c` (read from
/// the test source: `permitConvenienceAlphas`, `setPermitZeroSuppressedGTINinDLuris`,
/// `setPermitUnknownAIs` and `vUNKNOWN_AI_NOT_DL_ATTR`).
fn dl_options(line: u64) -> AiOptions {
    let mut o = AiOptions::default();
    if (1437..=1439).contains(&line) {
        o.permit_convenience_alphas = true;
    }
    if [
        1449, 1459, 1469, 1484, 1494, 1635, 1641, 1669, 1679, 1689, 1699,
    ]
    .contains(&line)
    {
        o.permit_zero_suppressed_gtin = true;
    }
    if line == 1763 {
        o.permit_unknown_ais = true;
    }
    if line == 1767 {
        o.permit_unknown_ais = true;
        o.unknown_ai_as_dl_attr = true;
    }
    o
}

#[test]
fn parse_dl_uri_vectors() {
    let v = vectors("parseDLuri");
    assert_eq!(v.len(), 118);
    let mut failures = Vec::new();
    let (mut ok, mut must_fail) = (0, 0);
    for (line, a) in &v {
        let opts = dl_options(*line);
        let got = parse_dl_uri(&a[1], &opts).map(|ais| to_fnc1_string(&ais, &opts));
        let pass = if a[0] == "true" {
            got.as_deref() == Ok(a[2].as_str())
        } else {
            got.is_err()
        };
        if pass {
            ok += 1;
            must_fail += usize::from(a[0] == "false");
        } else {
            failures.push(format!(
                "{line}: {} -> {got:?}, expected {} {}",
                a[1], a[0], a[2]
            ));
        }
    }
    println!("parseDLuri: {ok}/118 passed ({must_fail} rejected as expected)");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(ok, 118);
}

#[test]
fn generate_dl_uri_vectors() {
    let v = vectors("generateDLuri");
    assert_eq!(v.len(), 22);
    let mut failures = Vec::new();
    let mut ok = 0;
    for (line, a) in &v {
        let mut opts = AiOptions::default();
        if *line == 2203 {
            opts.permit_unknown_ais = true;
        }
        if *line == 2206 {
            opts.permit_unknown_ais = true;
            opts.unknown_ai_as_dl_attr = true;
        }
        let stem = (a[1] != "NULL").then_some(a[1].as_str());
        let ais = parse_bracketed(&a[2], &opts).unwrap_or_else(|e| panic!("{line}: {e}"));
        let got = generate_dl_uri(&ais, stem, &opts);
        let pass = if a[0] == "true" {
            got.as_deref() == Ok(a[3].as_str())
        } else {
            got.is_err()
        };
        if pass {
            ok += 1;
        } else {
            failures.push(format!(
                "{line}: {} -> {got:?}, expected {} {}",
                a[2], a[0], a[3]
            ));
        }
    }
    println!("generateDLuri: {ok}/22 passed");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The reference writes bytes as Latin-1 characters.
fn latin1(s: &str) -> Vec<u8> {
    s.chars()
        .map(|c| u8::try_from(u32::from(c)).unwrap())
        .collect()
}

#[test]
fn uri_unescape_vectors() {
    let v = vectors("URIunescape");
    assert_eq!(v.len(), 21);
    for (line, a) in &v {
        assert_eq!(
            uri_unescape(&a[0], false),
            Some(latin1(&a[1])),
            "{line} path"
        );
        assert_eq!(
            uri_unescape(&a[0], true),
            Some(latin1(&a[2])),
            "{line} query"
        );
    }
    assert_eq!(uri_unescape("A%00B", false), None);
    println!("URIunescape: 21/21 passed (path and query modes)");
}

#[test]
fn parse_ai_data_vectors() {
    let v = vectors("parseAIdata");
    let (mut ok, mut skipped) = (0, 0);
    for (line, a) in &v {
        if a[1] == "inbuf" {
            skipped += 1; // arguments are C buffers filled at run time (overflow tests)
            continue;
        }
        let opts = AiOptions::default();
        let got = parse_bracketed(&a[1], &opts).map(|ais| to_fnc1_string(&ais, &opts));
        if a[0] == "true" {
            assert_eq!(got.as_deref(), Ok(a[2].as_str()), "{line}: {}", a[1]);
        } else {
            assert!(got.is_err(), "{line}: {} -> {got:?}", a[1]);
        }
        ok += 1;
    }
    println!("parseAIdata: {ok} passed, {skipped} skipped (arguments built at run time in C)");
    assert_eq!(ok + skipped, 29);
    assert_eq!(skipped, 2);
}

#[test]
fn process_ai_data_vectors() {
    let v = vectors("processAIdata");
    let (mut ok, mut skipped) = (0, 0);
    for (line, a) in &v {
        if a[1] == "buf" {
            skipped += 1; // arguments are C buffers filled at run time (length-limit tests)
            continue;
        }
        let got = parse_fnc1(&a[1], &AiOptions::default());
        assert_eq!(got.is_ok(), a[0] == "true", "{line}: {} -> {got:?}", a[1]);
        ok += 1;
    }
    println!("processAIdata: {ok} passed, {skipped} skipped (arguments built at run time in C)");
    assert_eq!(ok + skipped, 83);
    assert_eq!(skipped, 4);
}

#[test]
fn validate_ais_vectors() {
    let v = vectors("validateAIs");
    let mut per: BTreeMap<String, usize> = BTreeMap::new();
    let opts = AiOptions {
        permit_unknown_ais: true,
        ..Default::default()
    };
    for (line, a) in &v {
        let ais = parse_bracketed(&a[2], &opts).unwrap_or_else(|e| panic!("{line}: {e}"));
        let got = match a[1].as_str() {
            "validateAIrepeats" => check_repeats(&ais),
            "validateAImutex" => check_mutex(&ais),
            "validateAIrequisites" => check_requisites(&ais),
            "validateDigSigRequiresSerialisedKey" => check_digsig_serialised(&ais),
            other => panic!("unknown validation {other}"),
        };
        assert_eq!(
            got.is_ok(),
            a[0] == "true",
            "{line}: {} {} -> {got:?}",
            a[1],
            a[2]
        );
        *per.entry(a[1].clone()).or_default() += 1;
    }
    println!("validateAIs: {per:?}");
    assert_eq!(per.values().sum::<usize>(), 77);
}
