//! Documents, validation and XML against the GS1 EPCIS 2.0 examples and the openepcis test
//! resources (`../shared/reference-data/`).

use epcis::document::{DocumentKind, Limits, parse_json_document};
use epcis::validate::{ValidationIssue, validate_document, validate_json};
use std::path::{Path, PathBuf};

const REF: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/reference-data"
);

fn files(dir: &Path, exts: &[&str]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p
                .extension()
                .and_then(|x| x.to_str())
                .is_some_and(|x| exts.contains(&x))
            {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn rel(p: &Path) -> String {
    p.strip_prefix(REF).unwrap_or(p).display().to_string()
}

fn show(issues: &[ValidationIssue]) -> String {
    issues
        .iter()
        .map(|i| format!("  {i}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Parses and validates a JSON file both ways (whole value, and parsed `Document`); the two
/// must agree.
fn check_json_file(p: &Path) -> Result<epcis::document::Document, String> {
    let bytes = std::fs::read(p).unwrap();
    let doc = parse_json_document(&bytes, &Limits::default()).map_err(|e| e.to_string())?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    let a = validate_json(&value);
    let b = validate_document(&doc);
    assert_eq!(
        a.is_ok(),
        b.is_ok(),
        "{}: validate_json {a:?} vs validate_document {b:?}",
        rel(p)
    );
    match b {
        Ok(()) => Ok(doc),
        Err(issues) => Err(show(&issues)),
    }
}

#[test]
fn gs1_json_examples_parse_and_validate() {
    let dir = Path::new(REF).join("gs1-EPCIS/JSON");
    let all = files(&dir, &["jsonld", "json"]);
    let mut failures = Vec::new();
    let mut events = 0;
    for p in &all {
        match check_json_file(p) {
            Ok(doc) => {
                assert!(doc.kind != DocumentKind::SingleEvent, "{}", rel(p));
                events += doc.events.len();
            }
            Err(e) => failures.push(format!("{}:\n{e}", rel(p))),
        }
    }
    println!(
        "gs1-EPCIS/JSON: {} documents, {} events, {} rejected",
        all.len(),
        events,
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(all.len(), 47, "the issue names 47 JSON examples");
}

/// What each invalid openepcis 2.0 JSON document gets wrong, read from its file name and content:
/// (file stem, a pointer that must be reported).
const INVALID_JSON: &[(&str, &str)] = &[
    (
        "Combination_of_events_with_missing_mandatory_fields",
        "/epcisBody/eventList/1/action",
    ),
    (
        "Combination_of_multiple_invalid_fields",
        "/epcisBody/eventList/0/bizStep",
    ),
    (
        "Combination_of_non_standard_bizStep_and_disposition",
        "/epcisBody/eventList/1/disposition",
    ),
    ("EPCISDocument_without_context", "/@context"),
    (
        "ObjectEvent_with_ilmd_field_without_namespace",
        "/epcisBody/eventList/0/ilmd/materialType",
    ),
    (
        "ObjectEvent_with_invalid_action",
        "/epcisBody/eventList/0/action",
    ),
    (
        "ObjectEvent_with_invalid_certificationInfo",
        "/epcisBody/eventList/0/certificationInfo",
    ),
    (
        "ObjectEvent_with_invalid_eventTime_format",
        "/epcisBody/eventList/0/eventTime",
    ),
    (
        "ObjectEvent_with_non_standard_bizStep",
        "/epcisBody/eventList/0/bizStep",
    ),
    (
        "ObjectEvent_with_non_standard_bizStep_in_second_event",
        "/epcisBody/eventList/1/bizStep",
    ),
    (
        "ObjectEvent_with_non_standard_disposition",
        "/epcisBody/eventList/0/disposition",
    ),
    (
        "ObjectEvent_with_quantity_as_text",
        "/epcisBody/eventList/0/quantityList/0/quantity",
    ),
    (
        "ObjectEvent_with_unknown_field_in_quantityList",
        "/epcisBody/eventList/0/quantityList/0/weight",
    ),
    (
        "ObjectEvent_without_action_and_eventTime",
        "/epcisBody/eventList/0/eventTime",
    ),
    (
        "ObjectEvent_without_identifier_list",
        "/epcisBody/eventList/0/epcList",
    ),
    (
        "QueryDocument_with_invalid_action",
        "/epcisBody/queryResults/resultsBody/eventList/0/action",
    ),
    (
        "QueryDocument_with_invalid_eventType",
        "/epcisBody/queryResults/resultsBody/eventList/0/type",
    ),
];

/// Is this issue line (`  pointer: rule`) a sensorReport `type` that the official schema (the
/// reference copy, read here independently) rejects: missing while required, or a bare word
/// outside its measurementType enumeration?
fn schema_rejects_sensor_type(doc: &serde_json::Value, line: &str) -> bool {
    let schema: serde_json::Value = serde_json::from_slice(
        &std::fs::read(Path::new(REF).join("gs1-EPCIS/EPCIS-JSON-Schema.json")).unwrap(),
    )
    .unwrap();
    let Some((pointer, _)) = line.trim().split_once(": ") else {
        return false;
    };
    let Some(report) = pointer.strip_suffix("/type") else {
        return false;
    };
    if report.rsplit('/').nth(1) != Some("sensorReport") {
        return false;
    }
    match doc.pointer(pointer) {
        None => schema["definitions"]["sensorReport"]["required"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r == "type"),
        Some(serde_json::Value::String(t)) => {
            let words = schema["definitions"]["measurementType"]["anyOf"][1]["enum"]
                .as_array()
                .unwrap();
            !t.contains(':') && !words.iter().any(|w| w == t)
        }
        Some(_) => false,
    }
}

fn is_invalid_path(p: &Path) -> bool {
    p.components().any(|c| {
        c.as_os_str()
            .to_str()
            .is_some_and(|s| s.eq_ignore_ascii_case("invalid"))
    })
}

#[test]
fn openepcis_json_documents_valid_accepted_invalid_rejected_with_pointer() {
    let dir = Path::new(REF).join("openepcis-test-resources/2.0/EPCIS/JSON");
    let all = files(&dir, &["json", "jsonld"]);
    let (mut valid, mut invalid, mut queries, mut schema_stricter) = (0, 0, 0, 0);
    let mut failures = Vec::new();
    for p in &all {
        let name = rel(p);
        // `Query/Queries/` holds query definitions (named queries), not EPCIS documents.
        if name.contains("/Queries/") {
            queries += 1;
            continue;
        }
        let stem = p.file_stem().unwrap().to_str().unwrap();
        let res = check_json_file(p);
        if is_invalid_path(p) {
            invalid += 1;
            let (_, want) = INVALID_JSON
                .iter()
                .find(|(s, _)| *s == stem)
                .unwrap_or_else(|| panic!("{name}: no expectation for this invalid document"));
            match res {
                Ok(_) => failures.push(format!("{name}: accepted but is invalid")),
                Err(issues) if !issues.contains(&format!("  {want}:")) => {
                    failures.push(format!("{name}: rejected, but not at {want}:\n{issues}"))
                }
                Err(issues) => println!("rejected {name}:\n{issues}"),
            }
        } else {
            valid += 1;
            if let Err(e) = res {
                // The official schema is stricter than openepcis' validator in one place: the
                // sensorReport `type`. Such a rejection is fine only if the schema file itself
                // says so for every reported field.
                let value: serde_json::Value =
                    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap();
                let unexplained: Vec<&str> = e
                    .lines()
                    .filter(|l| !schema_rejects_sensor_type(&value, l))
                    .collect();
                if unexplained.is_empty() {
                    schema_stricter += 1;
                    println!("official schema rejects upstream-valid {name}:\n{e}");
                } else {
                    failures.push(format!("{name}: rejected but is valid:\n{e}"));
                }
            }
        }
    }
    println!(
        "openepcis 2.0 JSON: {valid} valid ({schema_stricter} of them rejected by the official \
         schema's sensorReport type rule), {invalid} invalid rejected, {queries} query definitions skipped"
    );
    assert!(schema_stricter <= 4, "{schema_stricter}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(invalid, INVALID_JSON.len());
    assert!(valid >= 50, "{valid}");
}
