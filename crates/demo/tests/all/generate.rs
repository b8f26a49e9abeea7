use std::collections::{BTreeMap, BTreeSet};

use demo::{
    DemoConfig, generate, generate_with_owner, ids, organisations, products, write_document,
};
use serde_json::Value;

const START_MS: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z

fn doc(cfg: &DemoConfig) -> Vec<u8> {
    let mut out = Vec::new();
    let n = write_document(cfg, &mut out).unwrap();
    assert_eq!(n, cfg.events);
    out
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let cfg = DemoConfig::new(3_000, 7, START_MS);
    let a = doc(&cfg);
    let b = doc(&cfg);
    assert_eq!(a, b);
    let c = doc(&DemoConfig { seed: 8, ..cfg });
    assert_ne!(a, c);
}

#[test]
fn document_is_json_with_the_requested_number_of_events() {
    let cfg = DemoConfig::new(2_000, 1, START_MS);
    let v: Value = serde_json::from_slice(&doc(&cfg)).unwrap();
    assert_eq!(v["type"], "EPCISDocument");
    assert_eq!(v["schemaVersion"], "2.0");
    assert_eq!(v["epcisBody"]["eventList"].as_array().unwrap().len(), 2_000);
}

fn time_ms(s: &str) -> i64 {
    // YYYY-MM-DDTHH:MM:SS.mmmZ
    let n = |a: usize, b: usize| s[a..b].parse::<i64>().unwrap();
    let (y, m, d) = (n(0, 4), n(5, 7), n(8, 10));
    // days from civil (inverse of ids::civil_from_days), checked against it below
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    assert_eq!(ids::civil_from_days(days), (y, m as u32, d as u32));
    ((days * 24 + n(11, 13)) * 60 + n(14, 16)) * 60_000 + n(17, 19) * 1000 + n(20, 23)
}

#[test]
fn event_times_strictly_increase_from_the_start_and_ids_are_unique_uuids() {
    let cfg = DemoConfig::new(5_000, 3, START_MS);
    let mut last = START_MS - 1;
    let mut ids_seen = BTreeSet::new();
    for e in generate(&cfg) {
        let t = time_ms(e["eventTime"].as_str().unwrap());
        assert!(t > last, "{t} after {last}");
        last = t;
        let id = e["eventID"].as_str().unwrap();
        assert!(id.starts_with("urn:uuid:") && id.len() == 45, "{id}");
        assert_eq!(&id[23..24], "4", "uuid version in {id}");
        assert!(ids_seen.insert(id.to_string()), "duplicate {id}");
    }
}

fn check_gs1(digits: &str) {
    assert!(digits.bytes().all(|b| b.is_ascii_digit()), "{digits}");
    let (body, check) = digits.split_at(digits.len() - 1);
    assert_eq!(
        ids::gs1_check_digit(body).to_string(),
        check,
        "check digit of {digits}"
    );
}

#[test]
fn organisations_have_valid_keys() {
    let cfg = DemoConfig::new(0, 1, START_MS);
    let orgs = organisations(&cfg);
    assert_eq!(orgs.len(), 10 + 3 + 4 + 4 + 6);
    let mut prefixes = BTreeSet::new();
    for o in &orgs {
        assert!(prefixes.insert(o.company_prefix.clone()));
        assert_eq!(o.gln.len(), 13);
        check_gs1(&o.gln);
        assert_eq!(o.uscc.len(), 18);
        assert_eq!(ids::uscc_check_char(&o.uscc[..17]), o.uscc.chars().last());
        for s in &o.sites {
            check_gs1(&s.gln);
            assert!(
                s.sgln
                    .starts_with(&format!("urn:epc:id:sgln:{}.", o.company_prefix))
            );
        }
    }
    for p in products(&cfg) {
        assert_eq!(p.gtin.len(), 14);
        check_gs1(&p.gtin);
    }
}

/// Digits of an EPC URI's GS1 key (company prefix + reference, no check digit) for sgtin/sscc/sgln.
fn epc_key_digits(uri: &str) -> Option<(String, usize)> {
    let (kind, rest) = uri.strip_prefix("urn:epc:id:")?.split_once(':')?;
    let parts: Vec<&str> = rest.split('.').collect();
    Some(match kind {
        "sgtin" => (
            format!("{}{}{}", &parts[1][..1], parts[0], &parts[1][1..]),
            13,
        ),
        "sscc" => (
            format!("{}{}{}", &parts[1][..1], parts[0], &parts[1][1..]),
            17,
        ),
        "sgln" => (format!("{}{}", parts[0], parts[1]), 12),
        _ => return None,
    })
}

fn walk_strings<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::String(s) => out.push(s),
        Value::Array(a) => a.iter().for_each(|x| walk_strings(x, out)),
        Value::Object(m) => m.values().for_each(|x| walk_strings(x, out)),
        _ => {}
    }
}

#[test]
fn every_identifier_is_well_formed() {
    let cfg = DemoConfig::new(5_000, 11, START_MS);
    for e in generate(&cfg) {
        let mut strings = Vec::new();
        walk_strings(&e, &mut strings);
        for s in strings {
            if let Some((digits, len)) = epc_key_digits(s) {
                assert_eq!(digits.len(), len, "{s}");
                assert!(digits.bytes().all(|b| b.is_ascii_digit()), "{s}");
            }
            if let Some(rest) = s.strip_prefix("urn:epcglobal:cbv:bt:") {
                check_gs1(rest.split(':').next().unwrap());
            }
            if let Some(rest) = s.strip_prefix("urn:epc:class:lgtin:") {
                let parts: Vec<&str> = rest.split('.').collect();
                assert_eq!(parts.len(), 3, "{s}");
                assert_eq!(parts[0].len() + parts[1].len(), 13, "{s}");
                assert!(
                    parts[2].len() <= 20
                        && parts[2]
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                );
            }
        }
    }
}

#[test]
fn the_chain_has_every_kind_of_step() {
    let cfg = DemoConfig::new(20_000, 5, START_MS);
    let mut kinds: BTreeMap<(String, String, String), usize> = BTreeMap::new();
    let mut owners = BTreeSet::new();
    let mut ilmd_lots = 0;
    for (owner, e) in generate_with_owner(&cfg) {
        owners.insert(owner);
        let s = |k: &str| e[k].as_str().unwrap_or("").to_string();
        *kinds
            .entry((s("type"), s("bizStep"), s("disposition")))
            .or_default() += 1;
        if e["ilmd"]["cbvmda:lotNumber"].is_string() {
            ilmd_lots += 1;
        }
        if s("bizStep") == "shipping" || s("bizStep") == "receiving" {
            assert!(e["sourceList"].as_array().unwrap().len() == 2);
            assert!(e["destinationList"].as_array().unwrap().len() == 2);
            assert!(!e["bizTransactionList"].as_array().unwrap().is_empty());
        }
    }
    let has = |t: &str, b: &str, d: &str| kinds.contains_key(&(t.into(), b.into(), d.into()));
    assert!(has("ObjectEvent", "commissioning", "active"), "{kinds:?}");
    assert!(has("TransformationEvent", "commissioning", "active"));
    assert!(has(
        "TransformationEvent",
        "creating_class_instance",
        "active"
    ));
    assert!(has("AggregationEvent", "packing", "in_progress"));
    assert!(has("AggregationEvent", "unpacking", "in_progress"));
    assert!(has("ObjectEvent", "shipping", "in_transit"));
    assert!(has("ObjectEvent", "receiving", "in_progress"));
    assert!(has("ObjectEvent", "retail_selling", "retail_sold"));
    assert!(has("ObjectEvent", "shipping", "returned"));
    assert!(has("ObjectEvent", "receiving", "returned"));
    assert!(has("ObjectEvent", "destroying", "destroyed"));
    assert!(ilmd_lots > 0);
    assert!(owners.len() > 15, "{owners:?}");
}

#[test]
fn documents_validate_against_the_epcis_schema_and_rules() {
    let cfg = DemoConfig::new(3_000, 21, START_MS);
    let v: Value = serde_json::from_slice(&doc(&cfg)).unwrap();
    if let Err(issues) = epcis::validate::validate_json(&v) {
        panic!(
            "{} issues, first: {:?}",
            issues.len(),
            &issues[..issues.len().min(3)]
        );
    }
}

#[test]
fn every_identifier_is_a_gs1_key_the_identifier_crate_accepts() {
    let cfg = DemoConfig::new(3_000, 22, START_MS);
    for e in generate(&cfg) {
        let mut strings = Vec::new();
        walk_strings(&e, &mut strings);
        for s in strings {
            if s.starts_with("urn:epc:id:") || s.starts_with("urn:epc:class:") {
                let dl = gs1::canonical_dl(s);
                assert!(dl.is_some(), "{s} is not a valid GS1 identifier");
            }
        }
    }
}
