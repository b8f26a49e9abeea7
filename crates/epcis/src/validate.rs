//! Validation of EPCIS 2.0 JSON documents and events (pure).
//!
//! Two layers, both reporting [`ValidationIssue`]s that name the field (a JSON pointer into the
//! document as received) and the rule:
//! 1. the official EPCIS 2.0 JSON schema (compiled into the crate, format checks on), and
//! 2. semantic rules the schema cannot express or expresses only as an opaque `anyOf`: `action`
//!    present where the event type needs it, timestamps with a time-zone offset, identifiers that
//!    look like GS1 EPC URIs or Digital Links must be valid ones (parsed by the `gs1` crate), an
//!    ObjectEvent must name what it is about, an AggregationEvent with ADD/DELETE needs its
//!    `parentID`, `uom` only with `quantity`.
//!
//! The schema is the draft of github.com/gs1/EPCIS (2023-05-16) with two corrections where it
//! contradicts the EPCIS 2.0 XSD and GS1's own examples (see `validate/schema.rs`):
//! `persistentDisposition` is allowed on every event type, and `sensorReport.type` is optional.
//!
//! Issues are sorted by pointer, at most one per pointer (the semantic rule wins over the schema
//! message for the same field), and capped at [`MAX_ISSUES`].
//!
//! Comment members: a top-level document member named `_comment…` (no colon) that the document's
//! own inline `@context` does not define is not a JSON-LD term, so JSON-LD expansion drops it; it
//! carries no EPCIS data. It is ignored here instead of failing the schema's
//! `additionalProperties` (published examples, e.g. the FSMA 204 CTE files, carry prose in one);
//! [`ignored_members`] lists them so callers can warn. Anything else unknown is still an error.

mod rules;
mod schema;

use crate::document::{Document, DocumentKind};
use serde_json::{Map, Value};

/// At most this many issues are reported for one document.
pub const MAX_ISSUES: usize = 100;

/// One reason a document is invalid.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ValidationIssue {
    /// JSON pointer to the field, e.g. `/epcisBody/eventList/0/action` (`""` = the document).
    pub pointer: String,
    /// The rule that was broken, readable by a person.
    pub rule: String,
}

impl std::fmt::Display for ValidationIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let p = if self.pointer.is_empty() {
            "(document)"
        } else {
            &self.pointer
        };
        write!(f, "{p}: {}", self.rule)
    }
}

/// Whether top-level member `name` of a document is a comment that JSON-LD expansion drops: it
/// starts with `_comment`, is no compact IRI, and the inline `@context` does not define it.
pub fn is_ignored_member(name: &str, context: &Value) -> bool {
    fn defines(c: &Value, name: &str) -> bool {
        match c {
            Value::Object(m) => m.contains_key(name) || m.contains_key("@vocab"),
            Value::Array(a) => a.iter().any(|c| defines(c, name)),
            _ => false,
        }
    }
    name.starts_with("_comment") && !name.contains(':') && !defines(context, name)
}

/// The top-level members of a document that validation ignores (see the module docs), as
/// warnings naming the member.
pub fn ignored_members(doc: &Document) -> Vec<ValidationIssue> {
    doc.attributes
        .keys()
        .filter(|k| is_ignored_member(k, &doc.context))
        .map(|k| ValidationIssue {
            pointer: format!("/{k}"),
            rule: "not a term of the @context: ignored (JSON-LD expansion drops it)".into(),
        })
        .collect()
}

/// Validates a whole JSON value: an `EPCISDocument`, an `EPCISQueryDocument` or a single event.
pub fn validate_json(doc: &Value) -> Result<(), Vec<ValidationIssue>> {
    let mut issues = Vec::new();
    let mut semantic = Vec::new();
    let context = doc.get("@context").cloned().unwrap_or(Value::Null);
    let is_document = matches!(
        doc.get("type").and_then(Value::as_str),
        Some("EPCISDocument" | "EPCISQueryDocument")
    );
    match doc.as_object() {
        Some(m) if is_document && m.keys().any(|k| is_ignored_member(k, &context)) => {
            let mut kept = m.clone();
            kept.retain(|k, _| !is_ignored_member(k, &context));
            schema::check_root(&Value::Object(kept), &mut issues);
        }
        _ => schema::check_root(doc, &mut issues),
    }
    match doc.get("type").and_then(Value::as_str) {
        Some("EPCISDocument") => {
            for_each_event(doc, "/epcisBody/eventList", &mut semantic);
        }
        Some("EPCISQueryDocument") => {
            for_each_event(
                doc,
                "/epcisBody/queryResults/resultsBody/eventList",
                &mut semantic,
            );
        }
        _ if doc.is_object() => rules::check_event(doc, "", &mut semantic),
        _ => {}
    }
    finish(semantic, issues)
}

/// Validates a parsed [`Document`]: the document shell against the schema, then every event
/// against the schema's event definition and the semantic rules. Pointers are those of the
/// document as received.
pub fn validate_document(doc: &Document) -> Result<(), Vec<ValidationIssue>> {
    let mut issues = Vec::new();
    let mut semantic = Vec::new();
    if doc.kind == DocumentKind::SingleEvent {
        for e in &doc.events {
            schema::check_root(e, &mut issues);
            rules::check_event(e, "", &mut semantic);
        }
        return finish(semantic, issues);
    }
    schema::check_root(&shell(doc), &mut issues);
    for (i, e) in doc.events.iter().enumerate() {
        let p = doc.event_pointer(i);
        schema::check_event(e, &p, &mut issues);
        rules::check_event(e, &p, &mut semantic);
        if semantic.len() + issues.len() > 4 * MAX_ISSUES {
            break;
        }
    }
    finish(semantic, issues)
}

/// Validates one event that sits inside a document at `pointer` (e.g.
/// `/epcisBody/eventList/3`): the schema's event definition (no `@context` needed) and the
/// semantic rules.
pub fn validate_event(event: &Value, pointer: &str) -> Result<(), Vec<ValidationIssue>> {
    let mut issues = Vec::new();
    let mut semantic = Vec::new();
    schema::check_event(event, pointer, &mut issues);
    rules::check_event(event, pointer, &mut semantic);
    finish(semantic, issues)
}

/// The document without its events (the events are checked one by one).
fn shell(doc: &Document) -> Value {
    let mut m = Map::new();
    if !doc.context.is_null() {
        m.insert("@context".into(), doc.context.clone());
    }
    for (k, v) in &doc.attributes {
        if !is_ignored_member(k, &doc.context) {
            m.insert(k.clone(), v.clone());
        }
    }
    if let Some(h) = &doc.header {
        m.insert("epcisHeader".into(), h.clone());
    }
    let list = Value::Array(Vec::new());
    let body = match doc.kind {
        DocumentKind::EpcisQueryDocument => {
            let mut qr = Map::new();
            if let Some(q) = &doc.query_name {
                qr.insert("queryName".into(), Value::String(q.clone()));
            }
            if let Some(s) = &doc.subscription_id {
                qr.insert("subscriptionID".into(), Value::String(s.clone()));
            }
            qr.insert(
                "resultsBody".into(),
                serde_json::json!({ "eventList": list }),
            );
            serde_json::json!({ "queryResults": qr })
        }
        _ => serde_json::json!({ "eventList": list }),
    };
    m.insert("epcisBody".into(), body);
    Value::Object(m)
}

fn for_each_event(doc: &Value, pointer: &str, out: &mut Vec<ValidationIssue>) {
    if let Some(list) = doc.pointer(pointer).and_then(Value::as_array) {
        for (i, e) in list.iter().enumerate() {
            rules::check_event(e, &format!("{pointer}/{i}"), out);
        }
    }
}

/// Semantic issues first (they are the more specific), one issue per pointer, sorted, capped.
fn finish(
    semantic: Vec<ValidationIssue>,
    schema: Vec<ValidationIssue>,
) -> Result<(), Vec<ValidationIssue>> {
    if semantic.is_empty() && schema.is_empty() {
        return Ok(());
    }
    let mut seen = std::collections::HashSet::new();
    // A schema `anyOf` failure on a whole object says less than a semantic issue inside it.
    let explained = |i: &ValidationIssue| {
        i.rule.contains(schema::ANY_OF_PREFIX)
            && semantic
                .iter()
                .any(|s| s.pointer.starts_with(&format!("{}/", i.pointer)))
    };
    let schema: Vec<ValidationIssue> = schema.into_iter().filter(|i| !explained(i)).collect();
    let mut out: Vec<ValidationIssue> = semantic
        .into_iter()
        .chain(schema)
        .filter(|i| seen.insert(i.pointer.clone()))
        .collect();
    out.sort();
    out.truncate(MAX_ISSUES);
    Err(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn missing_action_names_the_field() {
        let doc = json!({
            "@context": "https://ref.gs1.org/standards/epcis/epcis-context.jsonld",
            "type": "EPCISDocument", "schemaVersion": "2.0",
            "creationDate": "2020-01-01T00:00:00Z",
            "epcisBody": {"eventList": [{
                "type": "ObjectEvent", "eventTime": "2020-01-01T00:00:00Z",
                "eventTimeZoneOffset": "+00:00", "quantityList": [{"epcClass": "https://x.example/c"}]
            }]}
        });
        let issues = validate_json(&doc).unwrap_err();
        assert!(
            issues
                .iter()
                .any(|i| i.pointer == "/epcisBody/eventList/0/action"),
            "{issues:?}"
        );
    }

    #[test]
    fn top_level_comment_members_are_ignored_with_a_warning_and_nothing_else_is() {
        let doc = |extra: &str, context: Value| {
            let mut d = json!({
                "@context": context,
                "type": "EPCISDocument", "schemaVersion": "2.0",
                "creationDate": "2020-01-01T00:00:00Z",
                "epcisBody": {"eventList": []}
            });
            d[extra] = json!(["prose"]);
            d
        };
        let std_ctx = json!(["https://ref.gs1.org/standards/epcis/epcis-context.jsonld"]);
        let d = doc("_comment_mapping", std_ctx.clone());
        assert_eq!(validate_json(&d), Ok(()));
        let parsed = crate::document::document_from_value(d, &Default::default()).unwrap();
        assert_eq!(validate_document(&parsed), Ok(()));
        let w = ignored_members(&parsed);
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].pointer, "/_comment_mapping");
        // Not comments: an unknown member, a compact IRI-looking name, a term the inline context
        // defines.
        for (name, ctx) in [
            ("comment", std_ctx.clone()),
            ("_note", std_ctx.clone()),
            ("_comment:x", std_ctx.clone()),
            (
                "_comment",
                json!([std_ctx[0], {"_comment": "https://x.example/c"}]),
            ),
        ] {
            let d = doc(name, ctx);
            assert!(validate_json(&d).is_err(), "{name}");
            let parsed = crate::document::document_from_value(d, &Default::default()).unwrap();
            assert!(validate_document(&parsed).is_err(), "{name}");
            assert!(ignored_members(&parsed).is_empty(), "{name}");
        }
    }

    #[test]
    fn time_without_offset_is_rejected() {
        let ev = json!({
            "@context": "https://ref.gs1.org/standards/epcis/epcis-context.jsonld",
            "type": "ObjectEvent", "action": "OBSERVE", "eventTime": "2020-01-01T00:00:00",
            "eventTimeZoneOffset": "+00:00", "epcList": ["https://x.example/e"]
        });
        let issues = validate_json(&ev).unwrap_err();
        assert!(
            issues.iter().any(|i| i.pointer == "/eventTime"),
            "{issues:?}"
        );
    }
}
