//! The official EPCIS 2.0 JSON schema, compiled once, and its errors as [`ValidationIssue`]s.

use super::{MAX_ISSUES, ValidationIssue};
use jsonschema::error::ValidationErrorKind;
use jsonschema::{Draft, ValidationError, Validator};
use serde_json::Value;
use std::sync::LazyLock;

/// `crates/epcis/schema/EPCIS-JSON-Schema.json` (see the README there for its source).
const SCHEMA_TEXT: &str = include_str!("../../schema/EPCIS-JSON-Schema.json");

fn schema_value() -> Value {
    // The text is a constant of this crate; a unit test parses it.
    let mut s =
        serde_json::from_str(SCHEMA_TEXT).expect("the bundled EPCIS JSON schema is valid JSON");
    allow_persistent_disposition_everywhere(&mut s);
    sensor_report_type_optional(&mut s);
    s
}

/// Second deliberate deviation: the draft JSON schema requires `sensorReport.type`, while the
/// EPCIS 2.0 XSD (`SensorReportType`: `type` is `use="optional"`) and GS1's own
/// `SensorDataExamples.xml` (reports that carry only an `exception`) treat it as optional.
fn sensor_report_type_optional(schema: &mut Value) {
    if let Some(req) = schema
        .pointer_mut("/definitions/sensorReport/required")
        .and_then(Value::as_array_mut)
    {
        req.retain(|r| r != "type");
    }
}

/// A deliberate deviation from the draft JSON schema: it lists `persistentDisposition`
/// only for ObjectEvent and TransformationEvent, while the EPCIS 2.0 standard and its XSD
/// (`AggregationEventType`, `TransactionEventType`, `AssociationEventType`) allow it on every
/// event type. We follow the standard and the XSD.
fn allow_persistent_disposition_everywhere(schema: &mut Value) {
    for ty in ["AggregationEvent", "TransactionEvent", "AssociationEvent"] {
        let Some(def) = schema.pointer_mut(&format!("/definitions/{ty}/allOf/1")) else {
            continue;
        };
        if let Some(props) = def.get_mut("properties").and_then(Value::as_object_mut) {
            props.insert(
                "persistentDisposition".into(),
                serde_json::json!({ "$ref": "#/definitions/persistentDisposition" }),
            );
        }
        if let Some(names) = def
            .pointer_mut("/propertyNames/anyOf/1/enum")
            .and_then(Value::as_array_mut)
            && !names.iter().any(|n| n == "persistentDisposition")
        {
            names.push(Value::String("persistentDisposition".into()));
        }
    }
}

fn build(schema: &Value) -> Validator {
    jsonschema::options()
        .with_draft(Draft::Draft7)
        .should_validate_formats(true)
        .build(schema)
        .expect("the bundled EPCIS JSON schema compiles")
}

/// The whole schema: documents and single events.
static ROOT: LazyLock<Validator> = LazyLock::new(|| build(&schema_value()));

/// `#/definitions/EPCIS-Document-Event`: one event inside a document.
static EVENT: LazyLock<Validator> = LazyLock::new(|| {
    let mut s = schema_value();
    if let Some(m) = s.as_object_mut() {
        for k in ["type", "required", "properties", "allOf"] {
            m.remove(k);
        }
        m.insert(
            "$ref".into(),
            Value::String("#/definitions/EPCIS-Document-Event".into()),
        );
    }
    build(&s)
});

// `is_valid` first: it is several times faster than collecting errors, and most input is valid.

pub(super) fn check_root(doc: &Value, out: &mut Vec<ValidationIssue>) {
    if ROOT.is_valid(doc) {
        return;
    }
    for e in ROOT.iter_errors(doc).take(MAX_ISSUES) {
        out.push(to_issue(&e, ""));
    }
}

pub(super) fn check_event(event: &Value, prefix: &str, out: &mut Vec<ValidationIssue>) {
    if EVENT.is_valid(event) {
        return;
    }
    for e in EVENT.iter_errors(event).take(MAX_ISSUES) {
        out.push(to_issue(&e, prefix));
    }
}

fn push_segment(pointer: &mut String, seg: &str) {
    pointer.push('/');
    pointer.push_str(&seg.replace('~', "~0").replace('/', "~1"));
}

fn short(v: &Value) -> String {
    let s = match v {
        Value::String(s) => format!("`{s}`"),
        Value::Object(_) => "the object".to_string(),
        Value::Array(_) => "the array".to_string(),
        other => format!("`{other}`"),
    };
    if s.len() > 120 {
        let mut end = 117;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}...`", &s[..end])
    } else {
        s
    }
}

/// The generic rule text of an `anyOf` failure (after the value).
pub(super) const ANY_OF_PREFIX: &str = "matches none of the forms the EPCIS 2.0 schema allows here";

fn last_segment(pointer: &str) -> &str {
    pointer.rsplit('/').next().unwrap_or("")
}

/// Readable rule for an `anyOf` on a field whose alternatives are "standard word or URI".
fn any_of_rule(pointer: &str, value: &Value) -> String {
    let segs: Vec<&str> = pointer.rsplit('/').take(3).collect();
    let field = segs.first().copied().unwrap_or("");
    let parent_is_index = segs.get(1).is_some_and(|s| s.parse::<usize>().is_ok());
    let list = if parent_is_index {
        segs.get(2).copied()
    } else {
        None
    };
    let v = short(value);
    match (field, list) {
        ("bizStep", _) => format!(
            "{v} is not a CBV 2.0 business step (e.g. `shipping`) nor a URI outside the CBV namespace"
        ),
        ("disposition", _) | (_, Some("set" | "unset")) => format!(
            "{v} is not a CBV 2.0 disposition (e.g. `in_transit`) nor a URI outside the CBV namespace"
        ),
        ("type", Some("bizTransactionList")) => format!(
            "{v} is not a CBV 2.0 business transaction type (e.g. `po`) nor a URI outside the CBV namespace"
        ),
        ("type", Some("sourceList" | "destinationList")) => format!(
            "{v} is not a CBV 2.0 source/destination type (`owning_party`, `possessing_party`, `location`) nor a URI outside the CBV namespace"
        ),
        ("type", Some("sensorReport")) => format!(
            "{v} is not a GS1 measurement type (e.g. `Temperature`) nor a URI outside the GS1 vocabulary"
        ),
        ("reason", _) => format!(
            "{v} is not a CBV 2.0 error reason (`did_not_occur`, `incorrect_data`) nor a URI outside the CBV namespace"
        ),
        ("component", _) => format!("{v} is not a CBV 2.0 component (e.g. `x`) nor a URI"),
        ("exception", _) => format!(
            "{v} is not a GS1 sensor alert type (`ALARM_CONDITION`, `ERROR_CONDITION`) nor a URI"
        ),
        ("certificationInfo", _) => format!("{v} must be a URI or an array of URIs"),
        ("@context", _) => format!("{v} must be a URI, an object, or an array of those"),
        _ => format!("{v} {ANY_OF_PREFIX}"),
    }
}

fn to_issue(e: &ValidationError<'_>, prefix: &str) -> ValidationIssue {
    let mut pointer = format!("{prefix}{}", e.instance_path().as_str());
    let value: &Value = e.instance();
    let rule = match e.kind() {
        ValidationErrorKind::Required { property } => {
            let name = property.as_str().unwrap_or_default().to_string();
            push_segment(&mut pointer, &name);
            "required member is missing".to_string()
        }
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            let name = unexpected.first().cloned().unwrap_or_default();
            push_segment(&mut pointer, &name);
            format!("member `{name}` is not allowed here")
        }
        ValidationErrorKind::PropertyNames { error } => {
            let name = error.instance().as_str().unwrap_or_default().to_string();
            push_segment(&mut pointer, &name);
            format!(
                "member name `{name}` is neither a standard EPCIS member here nor a URI \
                 (user extensions need a namespace prefix, e.g. `example:{name}`)"
            )
        }
        ValidationErrorKind::Enum { options } => {
            let opts: Vec<String> = options
                .as_array()
                .map(|a| a.iter().map(|o| o.to_string()).collect())
                .unwrap_or_default();
            format!("{} must be one of {}", short(value), opts.join(", "))
        }
        ValidationErrorKind::Format { format } => {
            let what = match format.as_str() {
                "date-time" => "an RFC 3339 date-time with a time-zone offset".to_string(),
                "uri" => "an absolute URI".to_string(),
                f => format!("in `{f}` format"),
            };
            format!("{} must be {what}", short(value))
        }
        ValidationErrorKind::Pattern { pattern } => {
            if last_segment(&pointer) == "eventTimeZoneOffset" {
                format!(
                    "{} must be a time-zone offset `+hh:mm` or `-hh:mm` between -14:00 and +14:00",
                    short(value)
                )
            } else {
                format!("{} must match the pattern `{pattern}`", short(value))
            }
        }
        ValidationErrorKind::AnyOf { .. } => any_of_rule(&pointer, value),
        ValidationErrorKind::Type { .. } => {
            format!("{}: {}", short(value), e.masked())
        }
        _ => {
            let mut s = e.masked().to_string();
            if s.len() > 300 {
                let mut end = 297;
                while !s.is_char_boundary(end) {
                    end -= 1;
                }
                s.truncate(end);
                s.push_str("...");
            }
            s
        }
    };
    ValidationIssue {
        pointer,
        rule: format!("{rule} (EPCIS 2.0 JSON schema)"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn bundled_schema_compiles() {
        let _ = &*super::ROOT;
        let _ = &*super::EVENT;
    }

    #[test]
    fn persistent_disposition_patch_applies() {
        let s = super::schema_value();
        for ty in ["AggregationEvent", "TransactionEvent", "AssociationEvent"] {
            let names = s
                .pointer(&format!(
                    "/definitions/{ty}/allOf/1/propertyNames/anyOf/1/enum"
                ))
                .and_then(|v| v.as_array())
                .unwrap();
            assert!(names.iter().any(|n| n == "persistentDisposition"), "{ty}");
        }
    }
}
