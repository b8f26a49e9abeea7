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
/// reference copy, read here independently) rejects: a bare word outside its measurementType
/// enumeration?
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
        Some(serde_json::Value::String(t)) => {
            let words = schema["definitions"]["measurementType"]["anyOf"][1]["enum"]
                .as_array()
                .unwrap();
            !t.contains(':') && !words.iter().any(|w| w == t)
        }
        _ => false,
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
                // words allowed as sensorReport `type`. Such a rejection is fine only if the schema file itself
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
        "openepcis 2.0 JSON: {valid} valid ({schema_stricter} of them rejected: a sensorReport \
         type outside the schema's measurementType words), {invalid} invalid rejected with the \
         expected pointer, {queries} query definitions skipped"
    );
    assert!(schema_stricter <= 4, "{schema_stricter}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(invalid, INVALID_JSON.len());
    assert!(valid >= 50, "{valid}");
}

/// The root element's local name, read naively from the text (independent of the converter).
fn root_local_name(xml: &str) -> String {
    let mut rest = xml;
    loop {
        let i = rest.find('<').expect("a root element");
        rest = &rest[i + 1..];
        if rest.starts_with('?') || rest.starts_with('!') {
            continue;
        }
        let name: String = rest
            .chars()
            .take_while(|c| !c.is_whitespace() && *c != '>' && *c != '/')
            .collect();
        return name.rsplit(':').next().unwrap().to_string();
    }
}

#[test]
fn gs1_xml_examples_convert_and_validate() {
    let dir = Path::new(REF).join("gs1-EPCIS/XML");
    let all = files(&dir, &["xml", "json"]);
    let (mut documents, mut master, mut jobs, mut json) = (0, 0, 0, 0);
    let mut failures = Vec::new();
    for p in &all {
        let name = rel(p);
        let text = std::fs::read_to_string(p).unwrap();
        if p.extension().unwrap() == "json" {
            // A JSON twin of the WithEventHashID XML files that writes CBV values as URNs,
            // which the JSON schema forbids (`vocab-other-uri` excludes `urn:epcglobal:cbv`).
            json += 1;
            let issues = check_json_file(p).expect_err("URN CBV values in JSON are invalid");
            assert!(
                issues.lines().all(|l| l.contains("`urn:epcglobal:cbv:")),
                "{name}:\n{issues}"
            );
            continue;
        }
        let root = root_local_name(&text);
        match epcis::xml::xml_to_json_document(&text) {
            Err(e) if root == "EPCISCaptureJob" => {
                assert!(
                    matches!(e, epcis::xml::XmlError::UnsupportedRoot { .. }),
                    "{name}: {e}"
                );
                jobs += 1;
            }
            Err(e) => failures.push(format!("{name}: conversion failed: {e}")),
            Ok(v) => {
                if root == "EPCISMasterDataDocument" {
                    master += 1;
                } else {
                    documents += 1;
                }
                if let Err(issues) = validate_json(&v) {
                    failures.push(format!(
                        "{name}: converted document does not validate:\n{}",
                        show(&issues),
                    ));
                }
                // The capture path: bytes -> Document -> validation, same verdict.
                let doc = epcis::xml::parse_xml_document(
                    text.as_bytes(),
                    &Limits::default(),
                    &epcis::xml::XmlOptions::default(),
                )
                .unwrap();
                assert!(validate_document(&doc).is_ok(), "{name}");
                assert_eq!(
                    doc.events.len(),
                    v["epcisBody"]["eventList"].as_array().unwrap().len()
                );
            }
        }
    }
    println!(
        "gs1-EPCIS/XML: {} files: {documents} EPCIS documents and {master} master-data documents \
         converted and valid, {jobs} capture-job resources refused, {json} JSON file",
        all.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(all.len(), 38, "the issue names 38 XML examples");
}

/// Normalisation used to say that an XML and a JSON example describe the same event:
/// - `@context`, `recordTime` and `eventID` are left out (examples often give an ID in one form only);
/// - timestamps (`eventTime`, `declarationTime`, sensor `time`/`startTime`/`endTime`) become the
///   UTC instant in milliseconds;
/// - CBV values become their Web URI (`expand_cbv_value`), identifiers `gs1::normalize_id`;
/// - lists whose order carries no meaning (EPC lists, quantity lists, business transactions,
///   sources, destinations, persistent dispositions, corrective IDs, sensor reports) are sorted;
/// - user extension member names are expanded with the document's `@context` to
///   `{namespace}local` (namespace without a trailing `/`, `#` or `:`), their scalar values become
///   strings (numbers in shortest form), a one-element array equals its element.
mod norm {
    use epcis::document::{CbvField, expand_cbv_value_owned};
    use serde_json::{Map, Value};
    use time::OffsetDateTime;
    use time::format_description::well_known::Rfc3339;

    pub type Ctx = Vec<(String, String)>;

    /// `ctx` extended with an event's own `@context`.
    pub fn with_event_context(ctx: &Ctx, ev: &Value) -> Ctx {
        let mut out = ctx.clone();
        if ev.get("@context").is_some() {
            for (p, n) in context(ev).into_iter().skip(8) {
                out.retain(|(q, _)| *q != p);
                out.push((p, n));
            }
        }
        out
    }

    pub fn context(doc: &Value) -> Ctx {
        // The prefixes of the standard EPCIS 2.0 context (`epcis-context.jsonld`).
        let mut out: Ctx = [
            ("cbvmda", "urn:epcglobal:cbv:mda:"),
            ("gs1", "https://gs1.org/voc/"),
            ("cbv", "https://ref.gs1.org/cbv/"),
            ("epcis", "https://ref.gs1.org/epcis/"),
            ("rdfs", "http://www.w3.org/2000/01/rdf-schema#"),
            ("owl", "http://www.w3.org/2002/07/owl#"),
            ("xsd", "http://www.w3.org/2001/XMLSchema#"),
            ("dcterms", "http://purl.org/dc/terms/"),
        ]
        .iter()
        .map(|(p, n)| (p.to_string(), n.to_string()))
        .collect();
        fn walk(v: &Value, out: &mut Ctx) {
            match v {
                Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
                Value::Object(o) => {
                    for (k, v) in o {
                        if let Some(s) = v.as_str() {
                            out.retain(|(p, _)| p != k);
                            out.push((k.clone(), s.to_string()));
                        }
                    }
                }
                _ => {}
            }
        }
        if let Some(c) = doc.get("@context") {
            walk(c, &mut out);
        }
        out
    }

    fn key(k: &str, ctx: &Ctx) -> String {
        if let Some((p, local)) = k.split_once(':')
            && let Some((_, ns)) = ctx.iter().find(|(q, _)| q == p)
        {
            return format!("{{{}}}{local}", ns.trim_end_matches(['/', '#', ':']));
        }
        k.to_string()
    }

    fn num(s: &str) -> Option<String> {
        s.trim().parse::<f64>().ok().map(|f| format!("{f}"))
    }

    fn time(v: &Value) -> Value {
        let s = v.as_str().unwrap_or_default();
        match OffsetDateTime::parse(s, &Rfc3339) {
            Ok(t) => Value::String(format!("{}ms", t.unix_timestamp_nanos() / 1_000_000)),
            Err(_) => v.clone(),
        }
    }

    fn id(v: &Value) -> Value {
        match v {
            Value::String(s) => Value::String(gs1::normalize_id(s.trim())),
            other => other.clone(),
        }
    }

    fn cbv(f: CbvField, v: &Value) -> Value {
        match v {
            Value::String(s) => Value::String(expand_cbv_value_owned(f, s)),
            other => other.clone(),
        }
    }

    /// JSON text with object members in sorted order (a sort key independent of member order).
    fn canon(v: &Value) -> String {
        match v {
            Value::Object(o) => {
                let mut kv: Vec<(&String, String)> = o.iter().map(|(k, v)| (k, canon(v))).collect();
                kv.sort();
                let inner: Vec<String> = kv.iter().map(|(k, v)| format!("{k:?}:{v}")).collect();
                format!("{{{}}}", inner.join(","))
            }
            Value::Array(a) => format!("[{}]", a.iter().map(canon).collect::<Vec<_>>().join(",")),
            other => other.to_string(),
        }
    }

    fn sorted(mut a: Vec<Value>) -> Value {
        a.sort_by_key(canon);
        Value::Array(a)
    }

    fn list(v: &Value, f: impl Fn(&Value) -> Value) -> Value {
        sorted(
            v.as_array()
                .map(|a| a.iter().map(f).collect())
                .unwrap_or_default(),
        )
    }

    pub fn ext(v: &Value, ctx: &Ctx) -> Value {
        match v {
            Value::String(s) => Value::String(num(s).unwrap_or_else(|| s.trim().to_string())),
            Value::Number(n) => Value::String(num(&n.to_string()).unwrap()),
            Value::Bool(b) => Value::String(b.to_string()),
            Value::Null => Value::String(String::new()),
            Value::Array(a) if a.len() == 1 => ext(&a[0], ctx),
            Value::Array(a) => Value::Array(a.iter().map(|x| ext(x, ctx)).collect()),
            // An empty extension element is the same as an absent one.
            Value::Object(o) => Value::Object(
                o.iter()
                    .map(|(k, v)| (key(k, ctx), ext(v, ctx)))
                    .filter(|(_, v)| v.as_str() != Some(""))
                    .collect(),
            ),
        }
    }

    fn quantity(q: &Value) -> Value {
        let mut m = Map::new();
        if let Some(c) = q.get("epcClass") {
            m.insert("epcClass".into(), id(c));
        }
        if let Some(n) = q.get("quantity") {
            m.insert(
                "quantity".into(),
                Value::String(num(&n.to_string()).unwrap_or_default()),
            );
        }
        if let Some(u) = q.get("uom") {
            m.insert("uom".into(), u.clone());
        }
        Value::Object(m)
    }

    fn typed(item: &str, f: CbvField) -> impl Fn(&Value) -> Value + '_ {
        move |x: &Value| {
            let mut m = Map::new();
            if let Some(t) = x.get("type") {
                m.insert("type".into(), cbv(f, t));
            }
            if let Some(v) = x.get(item) {
                m.insert(item.into(), id(v));
            }
            Value::Object(m)
        }
    }

    fn sensor_part(o: &Value, ctx: &Ctx) -> Value {
        let mut m = Map::new();
        for (k, v) in o.as_object().into_iter().flatten() {
            let nv = match k.as_str() {
                "time" | "startTime" | "endTime" => time(v),
                "type" => cbv(CbvField::MeasurementType, v),
                "exception" => cbv(CbvField::SensorAlertType, v),
                "component" => cbv(CbvField::Component, v),
                "value" | "minValue" | "maxValue" | "meanValue" | "sDev" | "percRank"
                | "percValue" => Value::String(num(&v.to_string()).unwrap_or_default()),
                _ if k.contains(':') => ext(v, ctx),
                _ => v.clone(),
            };
            m.insert(key(k, ctx), nv);
        }
        Value::Object(m)
    }

    fn object_with_ext(o: &Value, ctx: &Ctx, std: impl Fn(&str, &Value) -> Option<Value>) -> Value {
        let mut m = Map::new();
        for (k, v) in o.as_object().into_iter().flatten() {
            let nv = std(k, v).unwrap_or_else(|| ext(v, ctx));
            m.insert(key(k, ctx), nv);
        }
        Value::Object(m)
    }

    pub fn event(ev: &Value, ctx: &Ctx) -> Value {
        let ctx = &with_event_context(ctx, ev);
        let mut out = Map::new();
        for (k, v) in ev.as_object().into_iter().flatten() {
            let nv = match k.as_str() {
                "@context" | "recordTime" | "eventID" => continue,
                "eventTime" => time(v),
                "bizStep" => cbv(CbvField::BizStep, v),
                "disposition" => cbv(CbvField::Disposition, v),
                "parentID" => id(v),
                "epcList" | "childEPCs" | "inputEPCList" | "outputEPCList" => list(v, id),
                "quantityList" | "childQuantityList" | "inputQuantityList"
                | "outputQuantityList" => list(v, quantity),
                "readPoint" | "bizLocation" => {
                    object_with_ext(v, ctx, |k, v| (k == "id").then(|| id(v)))
                }
                "bizTransactionList" => {
                    list(v, typed("bizTransaction", CbvField::BizTransactionType))
                }
                "sourceList" => list(v, typed("source", CbvField::SourceDestType)),
                "destinationList" => list(v, typed("destination", CbvField::SourceDestType)),
                "persistentDisposition" => object_with_ext(v, ctx, |_, v| {
                    Some(list(v, |x| cbv(CbvField::Disposition, x)))
                }),
                "errorDeclaration" => object_with_ext(v, ctx, |k, v| match k {
                    "declarationTime" => Some(time(v)),
                    "reason" => Some(cbv(CbvField::ErrorReason, v)),
                    "correctiveEventIDs" => Some(list(v, Value::clone)),
                    _ => None,
                }),
                "sensorElementList" => Value::Array(
                    v.as_array()
                        .into_iter()
                        .flatten()
                        .map(|se| {
                            object_with_ext(se, ctx, |k, v| match k {
                                "sensorMetadata" => Some(sensor_part(v, ctx)),
                                "sensorReport" => Some(list(v, |r| sensor_part(r, ctx))),
                                _ => None,
                            })
                        })
                        .collect(),
                ),
                "certificationInfo" => match v {
                    Value::Array(_) => list(v, Value::clone),
                    other => sorted(vec![other.clone()]),
                },
                "ilmd" => ext(v, ctx),
                _ if k.contains(':') => ext(v, ctx),
                _ => v.clone(),
            };
            if k.contains(':') && nv.as_str() == Some("") {
                continue;
            }
            out.insert(key(k, ctx), nv);
        }
        Value::Object(out)
    }

    /// The first place where two normalised values differ.
    pub fn diff(a: &Value, b: &Value, path: &str) -> Option<String> {
        match (a, b) {
            (Value::Object(x), Value::Object(y)) => {
                for (k, va) in x {
                    match y.get(k) {
                        None => return Some(format!("{path}/{k}: only in the first")),
                        Some(vb) => {
                            if let Some(d) = diff(va, vb, &format!("{path}/{k}")) {
                                return Some(d);
                            }
                        }
                    }
                }
                y.keys()
                    .find(|k| !x.contains_key(*k))
                    .map(|k| format!("{path}/{k}: only in the second"))
            }
            (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
                .iter()
                .zip(y)
                .enumerate()
                .find_map(|(i, (p, q))| diff(p, q, &format!("{path}/{i}"))),
            _ if a == b => None,
            _ => Some(format!("{path}: {a} != {b}")),
        }
    }
}

/// Events of a JSON-LD document value, normalised.
fn normalised_events(doc: &serde_json::Value) -> Vec<serde_json::Value> {
    let ctx = norm::context(doc);
    let list = doc
        .pointer("/epcisBody/eventList")
        .or_else(|| doc.pointer("/epcisBody/queryResults/resultsBody/eventList"))
        .and_then(|l| l.as_array())
        .cloned()
        .unwrap_or_else(|| vec![doc.clone()]);
    list.iter().map(|e| norm::event(e, &ctx)).collect()
}

fn event_key(e: &serde_json::Value) -> String {
    format!(
        "{} {}",
        e["type"].as_str().unwrap_or(""),
        e["eventTime"].as_str().unwrap_or("")
    )
}

/// Naive reading of a field's values from source text (independent of the converter), for
/// checking that a difference between XML and JSON twins is in the sources themselves.
mod raw {
    use epcis::document::{CbvField, compact_cbv_value};
    use time::OffsetDateTime;
    use time::format_description::well_known::Rfc3339;

    const FIELDS: [CbvField; 8] = [
        CbvField::BizStep,
        CbvField::Disposition,
        CbvField::BizTransactionType,
        CbvField::SourceDestType,
        CbvField::ErrorReason,
        CbvField::MeasurementType,
        CbvField::SensorAlertType,
        CbvField::Component,
    ];

    fn canonical(v: &str) -> String {
        let v = v.trim().trim_matches('"');
        if let Some(w) = FIELDS.iter().find_map(|f| compact_cbv_value(*f, v)) {
            return w.to_string();
        }
        if let Ok(t) = OffsetDateTime::parse(v, &Rfc3339) {
            return format!("{}ms", t.unix_timestamp_nanos() / 1_000_000);
        }
        if let Ok(f) = v.parse::<f64>() {
            return format!("{f}");
        }
        gs1::normalize_id(v)
    }

    /// Values of element `<…field>` / attribute `field="…"` in XML text.
    pub fn xml(text: &str, field: &str) -> Vec<String> {
        let mut out = Vec::new();
        for (i, _) in text.match_indices(field) {
            let before = &text[..i];
            let after = &text[i + field.len()..];
            let opens = before.ends_with('<')
                || (before.ends_with(':')
                    && before.rfind('<') > before.rfind([' ', '>', '\n', '\t']));
            if opens && after.starts_with('>') {
                out.push(canonical(after[1..].split('<').next().unwrap_or("")));
            } else if opens && after.starts_with("/>") {
                out.push(String::new());
            } else if (before.ends_with(' ')
                || before.ends_with(':')
                || before.ends_with('\n')
                || before.ends_with('\t'))
                && after.starts_with("=\"")
            {
                out.push(canonical(after[2..].split('"').next().unwrap_or("")));
            }
        }
        out.sort();
        out
    }

    /// Values of member `"field"` / `"prefix:field"` in JSON text (strings, numbers, booleans,
    /// arrays of those; objects count as one opaque value).
    pub fn json(text: &str, field: &str) -> Vec<String> {
        let mut out = Vec::new();
        for (i, _) in text.match_indices(field) {
            let before = &text[..i];
            let after = &text[i + field.len()..];
            if !(before.ends_with('"') || before.ends_with(':')) || !after.starts_with('"') {
                continue;
            }
            let rest = after[1..].trim_start();
            let Some(rest) = rest.strip_prefix(':') else {
                continue;
            };
            let rest = rest.trim_start();
            if let Some(arr) = rest.strip_prefix('[') {
                let body = arr.split(']').next().unwrap_or("");
                if body.contains('{') {
                    out.push("{…}".into());
                } else {
                    out.extend(
                        body.split(',')
                            .filter(|x| !x.trim().is_empty())
                            .map(canonical),
                    );
                }
            } else if rest.starts_with('{') {
                out.push("{…}".into());
            } else if let Some(st) = rest.strip_prefix('"') {
                out.push(canonical(st.split('"').next().unwrap_or("")));
            } else {
                out.push(canonical(rest.split([',', '}', '\n']).next().unwrap_or("")));
            }
        }
        out.sort();
        out
    }
}

/// Is the difference `d` (from `norm::diff`) between an XML and a JSON source file visible in the
/// source texts themselves? The field is the last named segment of the difference's path.
fn difference_in_sources(d: &str, xml_text: &str, json_text: &str) -> bool {
    let path = d.split(": ").next().unwrap_or("");
    let Some(seg) = path
        .split('/')
        .rev()
        .find(|s| !s.is_empty() && s.parse::<usize>().is_err())
    else {
        return false;
    };
    let field = seg.rsplit('}').next().unwrap_or(seg);
    let (x, j) = (raw::xml(xml_text, field), raw::json(json_text, field));
    if d.ends_with("only in the first") {
        return j.is_empty() || x.iter().all(String::is_empty) || x != j;
    }
    if d.ends_with("only in the second") {
        return x.is_empty() || x.iter().all(String::is_empty) || x != j;
    }
    x != j
}

fn json_value(p: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

fn xml_value(p: &Path) -> Option<serde_json::Value> {
    epcis::xml::xml_to_json_document(&std::fs::read_to_string(p).unwrap()).ok()
}

/// GS1 examples: an XML event and a JSON event describe the same event when they have the same
/// type and eventTime (as an instant); the XML one must equal (after `norm`) one of its JSON
/// candidates.
#[test]
fn gs1_xml_and_json_examples_yield_the_same_events() {
    let root = Path::new(REF).join("gs1-EPCIS");
    let mut json_events: Vec<(String, String, serde_json::Value)> = Vec::new();
    let mut json_files = files(&root.join("JSON"), &["jsonld", "json"]);
    json_files.extend(files(&root.join("XML"), &["json"]));
    for p in json_files {
        let doc = json_value(&p);
        for e in normalised_events(&doc) {
            json_events.push((event_key(&e), rel(&p), e));
        }
    }
    let (mut paired, mut equal, mut unpaired, mut in_sources) = (0, 0, 0, 0);
    let mut report = Vec::new();
    for p in files(&root.join("XML"), &["xml"]) {
        let Some(doc) = xml_value(&p) else { continue };
        for (i, e) in normalised_events(&doc).iter().enumerate() {
            let k = event_key(e);
            let candidates: Vec<_> = json_events.iter().filter(|(jk, _, _)| *jk == k).collect();
            if candidates.is_empty() {
                unpaired += 1;
                continue;
            }
            paired += 1;
            if candidates.iter().any(|(_, _, j)| j == e) {
                equal += 1;
            } else if candidates.iter().all(|(_, jp, j)| {
                let d = norm::diff(e, j, "").unwrap_or_default();
                difference_in_sources(
                    &d,
                    &std::fs::read_to_string(&p).unwrap(),
                    &std::fs::read_to_string(Path::new(REF).join(jp)).unwrap(),
                )
            }) {
                in_sources += 1;
            } else {
                let stem = |s: &str| {
                    Path::new(s)
                        .file_stem()
                        .map(|x| x.to_string_lossy().to_lowercase())
                        .unwrap_or_default()
                };
                let xs = stem(&rel(&p));
                let (_, jp, j) = candidates
                    .iter()
                    .find(|(_, jp, _)| stem(jp) == xs)
                    .unwrap_or(&candidates[0]);
                report.push(format!(
                    "{} event {i} vs {jp}: {}",
                    rel(&p),
                    norm::diff(e, j, "").unwrap_or_default()
                ));
            }
        }
    }
    println!(
        "GS1 XML events: {paired} paired with JSON events by type+eventTime, {equal} equal after \
         normalisation, {in_sources} differing from every candidate in the source files \
         themselves, {unpaired} without a JSON twin"
    );
    assert!(
        report.is_empty(),
        "converter differences:\n{}",
        report.join("\n")
    );
    assert_eq!(equal + in_sources, paired);
    assert!(equal * 2 >= paired, "{equal} of {paired}");
}

/// openepcis test resources: `XML/<dir>/<stem>.xml` and `JSON/<dir>/<stem>.json` are the same
/// document in two syntaxes; their events must be equal after `norm`, in order.
#[test]
fn openepcis_xml_and_json_twins_yield_the_same_events() {
    let root = Path::new(REF).join("openepcis-test-resources/2.0/EPCIS");
    let (mut pairs, mut equal_pairs, mut events, mut upstream, mut refused) = (0, 0, 0, 0, 0);
    let mut report = Vec::new();
    for x in files(&root.join("XML"), &["xml"]) {
        if is_invalid_path(&x) || rel(&x).contains("/Queries/") {
            continue;
        }
        let relx = x.strip_prefix(root.join("XML")).unwrap();
        let j = root.join("JSON").join(relx).with_extension("json");
        if !j.exists() {
            continue;
        }
        pairs += 1;
        let Some(xd) = xml_value(&x) else {
            // Only the documents deliberately out of XSD order (see the XML document test).
            assert!(
                rel(&x).contains("Jumbled"),
                "{}: XML does not convert",
                rel(&x)
            );
            refused += 1;
            continue;
        };
        let (xe, je) = (normalised_events(&xd), normalised_events(&json_value(&j)));
        if xe.len() != je.len() {
            report.push(format!("{}: {} vs {} events", rel(&x), xe.len(), je.len()));
            continue;
        }
        let d: Vec<String> = xe
            .iter()
            .zip(&je)
            .enumerate()
            .filter_map(|(i, (a, b))| norm::diff(a, b, &format!("/{i}")))
            .collect();
        if d.is_empty() {
            equal_pairs += 1;
            events += xe.len();
            continue;
        }
        let (xt, jt) = (
            std::fs::read_to_string(&x).unwrap(),
            std::fs::read_to_string(&j).unwrap(),
        );
        if d.iter().all(|d| difference_in_sources(d, &xt, &jt)) {
            upstream += 1;
            println!(
                "  twins differ in the sources: {}: {}",
                rel(&x),
                d.join("; ")
            );
        } else {
            report.push(format!("{}: {}", rel(&x), d.join("; ")));
        }
    }
    println!(
        "openepcis XML/JSON twins: {pairs} pairs, {equal_pairs} with equal events ({events} \
         events), {upstream} that differ in the source files themselves"
    );
    assert!(
        report.is_empty(),
        "converter differences:\n{}",
        report.join("\n")
    );
    assert_eq!(equal_pairs + upstream + refused, pairs);
    assert!(equal_pairs * 3 >= pairs * 2, "{equal_pairs} of {pairs}");
}

/// JSON -> XML -> JSON keeps every event (after `norm`), for the GS1 JSON examples and the
/// valid openepcis JSON documents; the XML written converts back and still validates.
#[test]
fn json_to_xml_to_json_round_trip_preserves_events() {
    let mut all = files(&Path::new(REF).join("gs1-EPCIS/JSON"), &["jsonld", "json"]);
    all.extend(
        files(
            &Path::new(REF).join("openepcis-test-resources/2.0/EPCIS/JSON"),
            &["json"],
        )
        .into_iter()
        .filter(|p| !is_invalid_path(p) && !rel(p).contains("/Queries/")),
    );
    let (mut docs, mut events) = (0, 0);
    let mut failures = Vec::new();
    for p in &all {
        let original = json_value(p);
        let xml = match epcis::xml::json_to_xml_document(&original) {
            Ok(x) => x,
            Err(e) => {
                failures.push(format!("{}: JSON -> XML failed: {e}", rel(p)));
                continue;
            }
        };
        let back = match epcis::xml::xml_to_json_document(&xml) {
            Ok(v) => v,
            Err(e) => {
                failures.push(format!("{}: XML -> JSON failed: {e}\n{xml}", rel(p)));
                continue;
            }
        };
        let (a, b) = (normalised_events(&original), normalised_events(&back));
        if a.len() != b.len() {
            failures.push(format!("{}: {} events became {}", rel(p), a.len(), b.len()));
            continue;
        }
        let d: Vec<String> = a
            .iter()
            .zip(&b)
            .enumerate()
            .filter_map(|(i, (x, y))| norm::diff(x, y, &format!("/{i}")))
            .collect();
        if !d.is_empty() {
            failures.push(format!("{}: {}", rel(p), d.join("; ")));
            continue;
        }
        if validate_json(&original).is_ok()
            && let Err(issues) = validate_json(&back)
        {
            failures.push(format!(
                "{}: valid document no longer valid after the round trip:\n{}",
                rel(p),
                show(&issues)
            ));
            continue;
        }
        docs += 1;
        events += a.len();
    }
    println!(
        "round trip JSON -> XML -> JSON: {docs} of {} documents, {events} events preserved",
        all.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(docs, all.len());
}

/// XML -> JSON -> XML -> JSON keeps events and master data, for every GS1 XML example that
/// converts.
#[test]
fn xml_to_json_to_xml_round_trip_preserves_events_and_master_data() {
    let (mut docs, mut events, mut vocabularies) = (0, 0, 0);
    for p in files(&Path::new(REF).join("gs1-EPCIS/XML"), &["xml"]) {
        let Some(first) = xml_value(&p) else { continue };
        let xml =
            epcis::xml::json_to_xml_document(&first).unwrap_or_else(|e| panic!("{}: {e}", rel(&p)));
        let second = epcis::xml::xml_to_json_document(&xml)
            .unwrap_or_else(|e| panic!("{}: {e}\n{xml}", rel(&p)));
        let (a, b) = (normalised_events(&first), normalised_events(&second));
        assert_eq!(a.len(), b.len(), "{}", rel(&p));
        for (i, (x, y)) in a.iter().zip(&b).enumerate() {
            assert!(
                norm::diff(x, y, "").is_none(),
                "{} event {i}: {:?}",
                rel(&p),
                norm::diff(x, y, "")
            );
        }
        let md = "/epcisHeader/epcisMasterData/vocabularyList";
        assert_eq!(first.pointer(md), second.pointer(md), "{}", rel(&p));
        vocabularies += first
            .pointer(md)
            .and_then(|v| v.as_array())
            .map_or(0, Vec::len);
        assert!(validate_json(&second).is_ok(), "{}", rel(&p));
        docs += 1;
        events += a.len();
    }
    println!(
        "round trip XML -> JSON -> XML -> JSON: {docs} documents, {events} events, \
         {vocabularies} master-data vocabularies preserved"
    );
    assert_eq!(docs, 33);
}

/// The openepcis XML documents: valid 2.0 and 1.2 ones convert and validate; the invalid 2.0
/// ones are refused, by the converter (XSD structure) or by validation, with a pointer.
#[test]
fn openepcis_xml_documents_valid_accepted_invalid_rejected_with_pointer() {
    let root = Path::new(REF).join("openepcis-test-resources");
    let mut all = files(&root.join("2.0/EPCIS/XML"), &["xml"]);
    all.extend(files(&root.join("1.2/EPCIS/XML"), &["xml"]));
    let (mut valid, mut invalid, mut queries, mut contradicted) = (0, 0, 0, 0);
    let mut failures = Vec::new();
    for p in &all {
        let name = rel(p);
        if name.contains("/Queries/") {
            queries += 1;
            continue;
        }
        let text = std::fs::read_to_string(p).unwrap();
        let outcome: Result<(), Vec<(String, String)>> =
            match epcis::xml::xml_to_json_document(&text) {
                Err(e) => Err(vec![(e.pointer().to_string(), e.to_string())]),
                Ok(v) => validate_json(&v)
                    .map_err(|is| is.into_iter().map(|i| (i.pointer, i.rule)).collect()),
            };
        if is_invalid_path(p) {
            invalid += 1;
            match outcome {
                Ok(()) => failures.push(format!("{name}: accepted but is invalid")),
                Err(issues) => {
                    let pointed = issues.iter().any(|(ptr, _)| !ptr.is_empty());
                    println!("rejected {name}: {issues:?}");
                    if !pointed {
                        failures.push(format!(
                            "{name}: rejected without a field pointer: {issues:?}"
                        ));
                    }
                }
            }
        } else {
            valid += 1;
            if let Err(issues) = outcome {
                let reasons: Vec<Option<&str>> = issues
                    .iter()
                    .map(|(ptr, rule)| upstream_contradiction(&name, &text, ptr, rule))
                    .collect();
                if reasons.iter().all(Option::is_some) {
                    contradicted += 1;
                    println!("upstream-valid {name} breaks the standard: {reasons:?}");
                } else {
                    failures.push(format!("{name}: rejected but is valid: {issues:?}"));
                }
            }
        }
    }
    println!(
        "openepcis XML (2.0 and 1.2): {valid} valid ({contradicted} of them break the XSD or \
         the JSON schema, checked in the source text), {invalid} invalid rejected with a \
         pointer, {queries} query definitions skipped"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(contradicted <= 12, "{contradicted}");
    assert_eq!(invalid, 10);
}

/// Why an openepcis document labelled valid is nevertheless invalid, when the source text
/// shows it (read here naively, independent of the converter), for the issue `(ptr, rule)`.
fn upstream_contradiction(name: &str, text: &str, ptr: &str, rule: &str) -> Option<&'static str> {
    let values = |tag: &str| -> Vec<String> {
        let open = format!("<{tag}>");
        text.split(&open)
            .skip(1)
            .filter_map(|s| s.split('<').next())
            .map(|s| s.trim().to_string())
            .collect()
    };
    if ptr.ends_with("/queryResults/queryName") && values("queryName").is_empty() {
        return Some("QueryResults without queryName (required by EPCglobal-epcis-query-2_0.xsd)");
    }
    if rule.contains("element order of the EPCIS 2.0 XSD") && name.contains("Jumbled") {
        return Some("fields deliberately out of the XSD sequence");
    }
    if rule.contains("non-unique") {
        let mut epcs = values("epc");
        let n = epcs.len();
        epcs.sort();
        epcs.dedup();
        if epcs.len() < n {
            return Some("the same EPC twice in one list (uniqueItems)");
        }
    }
    if ptr.ends_with("/declarationTime")
        && values("declarationTime")
            .iter()
            .any(|v| v.len() < 19 || v.as_bytes().get(16) != Some(&b':'))
    {
        return Some("declarationTime without seconds (not an xsd:dateTime)");
    }
    if ptr.ends_with("/certificationInfo")
        && values("certificationInfo").iter().any(|v| v.contains(' '))
    {
        return Some("certificationInfo that is not a URI");
    }
    if ptr.ends_with("/ilmd")
        && values("action").iter().any(|a| a == "OBSERVE")
        && text.contains("<ilmd>")
    {
        return Some("ILMD in an OBSERVE event");
    }
    None
}

/// Hostile input never panics and is refused with a typed error.
mod hostile {
    use epcis::document::{DocumentError, Limits, parse_json_document};
    use epcis::xml::{XmlError, xml_to_json_document};
    use proptest::prelude::*;

    #[test]
    fn deep_xml_is_refused() {
        let deep = format!("{}{}", "<a>".repeat(10_000), "</a>".repeat(10_000));
        assert_eq!(
            xml_to_json_document(&deep).unwrap_err(),
            XmlError::TooDeep { max: 64 }
        );
    }

    #[test]
    fn external_entities_are_not_expanded() {
        let xxe = r#"<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2" schemaVersion="2.0" creationDate="2020-01-01T00:00:00Z"><EPCISBody><EventList><ObjectEvent><eventTime>2020-01-01T00:00:00Z</eventTime><eventTimeZoneOffset>+00:00</eventTimeZoneOffset><epcList><epc>&x;</epc></epcList><action>OBSERVE</action></ObjectEvent></EventList></EPCISBody></epcis:EPCISDocument>"#;
        assert!(matches!(
            xml_to_json_document(xxe),
            Err(XmlError::Syntax(m)) if m.contains("&x;")
        ));
    }

    #[test]
    fn too_many_events_is_typed() {
        let doc = format!(
            r#"{{"type":"EPCISDocument","epcisBody":{{"eventList":[{}]}}}}"#,
            ["{}"; 11].join(",")
        );
        let limits = Limits {
            max_events: 10,
            ..Limits::default()
        };
        assert_eq!(
            parse_json_document(doc.as_bytes(), &limits).unwrap_err(),
            DocumentError::TooManyEvents { count: 11, max: 10 }
        );
    }

    #[test]
    fn xml_event_limit_applies_while_reading() {
        let ev = "<ObjectEvent><eventTime>2020-01-01T00:00:00Z</eventTime><eventTimeZoneOffset>+00:00</eventTimeZoneOffset><epcList/><action>OBSERVE</action></ObjectEvent>";
        let xml = format!(
            r#"<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2" schemaVersion="2.0" creationDate="2020-01-01T00:00:00Z"><EPCISBody><EventList>{}</EventList></EPCISBody></epcis:EPCISDocument>"#,
            ev.repeat(11)
        );
        let limits = Limits {
            max_events: 10,
            ..Limits::default()
        };
        let options = epcis::xml::XmlOptions::default();
        assert_eq!(
            epcis::xml::parse_xml_document(xml.as_bytes(), &limits, &options).unwrap_err(),
            XmlError::Document(DocumentError::TooManyEvents { count: 11, max: 10 })
        );
        let ten = xml.replacen(ev, "", 1);
        let doc = epcis::xml::parse_xml_document(ten.as_bytes(), &limits, &options).unwrap();
        assert_eq!(doc.events.len(), 10);
        assert_eq!(doc.events[9]["type"], "ObjectEvent");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse_json_document(&bytes, &Limits::default());
            if let Ok(s) = std::str::from_utf8(&bytes) {
                let _ = xml_to_json_document(s);
            }
        }

        #[test]
        fn mutated_examples_never_panic(cut in 0usize..4000, junk in "[<>&\"{}\\[\\]:/a-z]{0,8}") {
            let base = include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../../shared/reference-data/gs1-EPCIS/XML/WithFullCombinationOfFields/object_event_all_possible_fields.xml"
            ));
            let cut = cut.min(base.len());
            let cut = (0..=cut).rev().find(|i| base.is_char_boundary(*i)).unwrap_or(0);
            let xml = format!("{}{junk}{}", &base[..cut], &base[cut..]);
            if let Ok(v) = xml_to_json_document(&xml) {
                let _ = epcis::validate::validate_json(&v);
                let _ = epcis::xml::json_to_xml_document(&v);
            }
            let json = std::fs::read_to_string(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../../shared/reference-data/gs1-EPCIS/JSON/WithFullCombinationOfFields/object_event_all_possible_fields.jsonld"
            )).unwrap();
            let cut = cut.min(json.len());
            let cut = (0..=cut).rev().find(|i| json.is_char_boundary(*i)).unwrap_or(0);
            let text = format!("{}{junk}{}", &json[..cut], &json[cut..]);
            if let Ok(d) = parse_json_document(text.as_bytes(), &Limits::default()) {
                let _ = epcis::validate::validate_document(&d);
            }
        }
    }
}
