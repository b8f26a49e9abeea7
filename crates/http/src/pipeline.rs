//! The capture pipeline shared by the HTTP server and the CLI: parse (JSON-LD or XML) -> validate
//! -> hash and index -> store. No HTTP types here, so `zhiliang capture` calls exactly the same code
//! as `POST /epcis/capture`.
//!
//! All-or-nothing: with [`ErrorBehaviour::Rollback`] any issue rejects the whole document before
//! the store is touched. With [`ErrorBehaviour::Proceed`] issues inside one event leave that event
//! out (and are recorded in the job); issues outside the event list still reject the document.

use epcis::document::{Document, DocumentError, DocumentKind};
use serde_json::Value;
use store::{CaptureJob, ErrorBehaviour, NewCapture, NewEvent, OrgId, Store, StoreError};

/// How a document is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Xml,
}

impl Format {
    /// From a media type (`application/json`, `application/ld+json`, `application/xml`, `text/xml`,
    /// with parameters). `None` (no Content-Type) sniffs the first non-blank byte of `body`.
    pub fn detect(media_type: Option<&str>, body: &[u8]) -> Result<Format, UnsupportedFormat> {
        match media_type {
            Some(mt) => {
                let essence = mt
                    .split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase();
                if essence == "application/json" || essence.ends_with("+json") {
                    Ok(Format::Json)
                } else if essence == "application/xml"
                    || essence == "text/xml"
                    || essence.ends_with("+xml")
                {
                    Ok(Format::Xml)
                } else {
                    Err(UnsupportedFormat(essence))
                }
            }
            None => Ok(Format::sniff(body)),
        }
    }

    /// `<` first means XML, anything else JSON.
    pub fn sniff(body: &[u8]) -> Format {
        match body.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'<') => Format::Xml,
            _ => Format::Json,
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error(
    "unsupported media type {0:?}: send application/json, application/ld+json or application/xml"
)]
pub struct UnsupportedFormat(pub String);

/// One problem found in a document: where (a JSON pointer into the JSON-LD form) and which rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    pub pointer: String,
    pub rule: String,
}

impl std::fmt::Display for Issue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let at = if self.pointer.is_empty() {
            "/"
        } else {
            &self.pointer
        };
        write!(f, "{at}: {}", self.rule)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// The document is invalid (nothing was stored). At least one issue.
    #[error("invalid document: {}", .0.first().map(|i| i.to_string()).unwrap_or_default())]
    Invalid(Vec<Issue>),
    /// More events than the capture limit (nothing was stored).
    #[error("the document has {count} events; the capture limit is {max}")]
    TooManyEvents { count: usize, max: usize },
    /// More bytes than the capture limit (nothing was stored).
    #[error("the document is {bytes} bytes; the capture limit is {max} bytes")]
    TooLarge { bytes: usize, max: usize },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl PipelineError {
    fn one(pointer: impl Into<String>, rule: impl Into<String>) -> PipelineError {
        PipelineError::Invalid(vec![Issue {
            pointer: pointer.into(),
            rule: rule.into(),
        }])
    }
}

impl From<DocumentError> for PipelineError {
    fn from(e: DocumentError) -> PipelineError {
        match e {
            DocumentError::TooManyEvents { count, max } => {
                PipelineError::TooManyEvents { count, max }
            }
            DocumentError::TooLarge { bytes, max } => PipelineError::TooLarge { bytes, max },
            other => PipelineError::one(other.pointer().to_string(), other.to_string()),
        }
    }
}

/// Limits on one capture document.
#[derive(Debug, Clone)]
pub struct DocumentLimits {
    pub bytes_max: usize,
    pub events_max: usize,
}

impl DocumentLimits {
    fn epcis(&self) -> epcis::document::Limits {
        epcis::document::Limits {
            max_bytes: self.bytes_max,
            max_events: self.events_max,
            ..epcis::document::Limits::default()
        }
    }
}

/// Parse bytes (JSON-LD, or XML converted to JSON-LD) into a document, within `limits`.
/// Accepts an `EPCISDocument`, an `EPCISQueryDocument` or one bare event.
pub fn parse_document(
    bytes: &[u8],
    format: Format,
    limits: &DocumentLimits,
) -> Result<Document, PipelineError> {
    if bytes.len() > limits.bytes_max {
        return Err(PipelineError::TooLarge {
            bytes: bytes.len(),
            max: limits.bytes_max,
        });
    }
    match format {
        Format::Json => Ok(epcis::document::parse_json_document(
            bytes,
            &limits.epcis(),
        )?),
        Format::Xml => {
            let text = std::str::from_utf8(bytes)
                .map_err(|e| PipelineError::one("", format!("the body must be UTF-8 ({e})")))?;
            let value = glue::xml_to_json(text).map_err(|i| PipelineError::Invalid(vec![i]))?;
            Ok(epcis::document::document_from_value(
                value,
                &limits.epcis(),
            )?)
        }
    }
}

/// One bare event (as `POST /epcis/events` receives it) as an `EPCISDocument` holding it, so it is
/// validated and stored exactly like a document. Its `@context` (or the standard one) becomes the
/// document's. Issues then point into `/epcisBody/eventList/0`; see [`event_relative`].
pub fn wrap_single_event(doc: Document, creation_date: &str) -> Document {
    if doc.kind != DocumentKind::SingleEvent {
        return doc;
    }
    let mut events = doc.events;
    let mut context = Value::Array(vec![Value::String(crate::output::EPCIS_CONTEXT.into())]);
    if let Some(Value::Object(e)) = events.first_mut()
        && let Some(c) = e.remove("@context")
    {
        context = c;
    }
    let mut attributes = serde_json::Map::new();
    attributes.insert("type".into(), Value::String("EPCISDocument".into()));
    attributes.insert("schemaVersion".into(), Value::String("2.0".into()));
    attributes.insert("creationDate".into(), Value::String(creation_date.into()));
    Document {
        context,
        kind: DocumentKind::EpcisDocument,
        header: None,
        events,
        attributes,
        query_name: None,
        subscription_id: None,
        events_pointer: "/epcisBody/eventList",
    }
}

/// Issues of a wrapped single event, with pointers relative to the event again.
pub fn event_relative(e: PipelineError) -> PipelineError {
    match e {
        PipelineError::Invalid(issues) => PipelineError::Invalid(
            issues
                .into_iter()
                .map(|i| Issue {
                    pointer: i
                        .pointer
                        .strip_prefix("/epcisBody/eventList/0")
                        .unwrap_or(&i.pointer)
                        .to_string(),
                    rule: i.rule,
                })
                .collect(),
        ),
        other => other,
    }
}

/// What to capture and on whose behalf.
#[derive(Debug, Clone)]
pub struct CaptureRequest {
    /// The job id (unique; see [`new_capture_id`]).
    pub id: String,
    pub owner: OrgId,
    pub now_ms: i64,
    pub behaviour: ErrorBehaviour,
    /// Most events accepted in one document.
    pub events_max: usize,
}

/// Whether a document `@context` says no more than the standard EPCIS context. Otherwise each
/// stored event keeps the document's context, so that extension prefixes stay resolvable on output.
fn context_is_standard(context: &Value) -> bool {
    let std_url = |v: &Value| {
        v.as_str()
            .is_some_and(|s| s.ends_with("epcis-context.jsonld"))
    };
    match context {
        Value::Null => true,
        Value::Array(items) => items.iter().all(std_url),
        other => std_url(other),
    }
}

/// Validate, hash and index a parsed document. Nothing is stored.
pub fn prepare(doc: &Document, req: &CaptureRequest) -> Result<NewCapture, PipelineError> {
    let n = doc.events.len();
    if n > req.events_max {
        return Err(PipelineError::TooManyEvents {
            count: n,
            max: req.events_max,
        });
    }
    // Issues per event; issues outside the event list are fatal whatever the behaviour.
    let mut per_event: Vec<Vec<Issue>> = vec![Vec::new(); n];
    let mut fatal = Vec::new();
    if let Err(issues) = glue::validate(doc) {
        for issue in issues {
            let target = if doc.kind == DocumentKind::SingleEvent {
                Some(0)
            } else {
                event_index_of(&issue.pointer, doc.events_pointer)
            };
            match target {
                Some(i) if i < n => per_event[i].push(issue),
                _ => fatal.push(issue),
            }
        }
    }
    if !fatal.is_empty() {
        return Err(PipelineError::Invalid(fatal));
    }
    let keep_context = doc.kind != DocumentKind::SingleEvent && !context_is_standard(&doc.context);
    let mut indexed: Vec<NewEvent> = Vec::with_capacity(n);
    let mut errors = Vec::new();
    for (i, event) in doc.events.iter().enumerate() {
        if per_event[i].is_empty() {
            match glue::hash_and_extract(event, &doc.context, keep_context) {
                Ok(ix) => {
                    indexed.push(ix);
                    continue;
                }
                Err(mut issue) => {
                    issue.pointer = format!("{}{}", doc.event_pointer(i), issue.pointer);
                    per_event[i].push(issue);
                }
            }
        }
        errors.extend(per_event[i].iter().map(|x| x.to_string()));
    }
    if !errors.is_empty() && req.behaviour == ErrorBehaviour::Rollback {
        let issues = per_event.into_iter().flatten().collect();
        return Err(PipelineError::Invalid(issues));
    }
    Ok(NewCapture {
        id: req.id.clone(),
        owner: req.owner.clone(),
        record_time_ms: req.now_ms,
        behaviour: req.behaviour,
        events: indexed,
        errors,
    })
}

/// Validate, index and store one parsed document. Returns only after the store made it durable.
pub fn capture(
    store: &dyn Store,
    doc: &Document,
    req: &CaptureRequest,
) -> Result<CaptureJob, PipelineError> {
    let capture = prepare(doc, req)?;
    Ok(store.capture(capture)?)
}

/// The CBV 2.0 hash of every event of a document (JSON-LD or XML), in document order.
pub fn document_hashes(bytes: &[u8], format: Format) -> Result<Vec<String>, PipelineError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|e| PipelineError::one("", format!("the file must be UTF-8 ({e})")))?;
    let value: Value = match format {
        Format::Json => serde_json::from_str(text)
            .map_err(|e| PipelineError::one("", format!("the file must be JSON: {e}")))?,
        // Hashing reads what it is given: field order is not enforced (some published documents,
        // e.g. the event hash generator's, list fields out of XSD order).
        Format::Xml => {
            glue::xml_to_json_lenient(text).map_err(|i| PipelineError::Invalid(vec![i]))?
        }
    };
    glue::document_hashes(&value).map_err(|i| PipelineError::Invalid(vec![i]))
}

/// Parse REST query parameters (`GET /epcis/events?…`) into a query. The error names the
/// parameter and the rule.
pub fn event_query(params: &[(String, String)]) -> Result<epcis::query::EventQuery, String> {
    glue::event_query(params)
}

/// A named query's JSON definition (`query-schema.json`) into a query.
pub fn named_query(definition: &Value) -> Result<epcis::query::EventQuery, String> {
    epcis::query::EventQuery::from_json(definition).map_err(|e| e.to_string())
}

/// An `EPCISQueryDocument` (JSON-LD form) as EPCIS 2.0 XML.
pub fn query_document_xml(doc: &Value) -> Result<String, String> {
    glue::json_to_xml(doc)
}

/// A capture job id: time-ordered (so listings sort naturally) and unguessable.
pub fn new_capture_id(now_ms: i64) -> String {
    let mut r = [0u8; 10];
    rand::fill(&mut r);
    format!("{:012x}{}", now_ms.max(0), hex::encode(r))
}

/// `/epcisBody/eventList/3/epcList/0` with list `/epcisBody/eventList` -> Some(3).
fn event_index_of(pointer: &str, list_ptr: &str) -> Option<usize> {
    let rest = pointer.strip_prefix(list_ptr)?.strip_prefix('/')?;
    rest.split('/').next()?.parse().ok()
}

/// The seam to the `epcis` crate: every call into it goes through here.
mod glue {
    use super::Issue;
    use epcis::document::Document;
    use serde_json::Value;
    use store::NewEvent;

    fn issue(pointer: &str, rule: String) -> Issue {
        Issue {
            pointer: pointer.to_string(),
            rule,
        }
    }

    pub fn xml_to_json(xml: &str) -> Result<Value, Issue> {
        epcis::xml::xml_to_json_document(xml).map_err(|e| issue(e.pointer(), e.to_string()))
    }

    pub fn xml_to_json_lenient(xml: &str) -> Result<Value, Issue> {
        let options = epcis::xml::XmlOptions {
            strict: false,
            ..Default::default()
        };
        epcis::xml::xml_to_json_document_with(xml, &options)
            .map_err(|e| issue(e.pointer(), e.to_string()))
    }

    pub fn validate(doc: &Document) -> Result<(), Vec<Issue>> {
        epcis::validate::validate_document(doc).map_err(|v| {
            v.into_iter()
                .map(|i| Issue {
                    pointer: i.pointer,
                    rule: i.rule,
                })
                .collect()
        })
    }

    /// Hash and index one event; the issue pointer is relative to the event.
    pub fn hash_and_extract(
        event: &Value,
        context: &Value,
        keep_context: bool,
    ) -> Result<NewEvent, Issue> {
        use epcis::index::IndexError;
        let hash = epcis::hash::event_hash(event, context).map_err(|e| issue("", e.to_string()))?;
        let mut ix = epcis::index::extract(event, hash).map_err(|e| {
            let (field, rule) = match &e {
                IndexError::Missing { field } => {
                    (field.clone(), "required field is missing".to_string())
                }
                IndexError::Invalid { field, rule } => (field.clone(), rule.clone()),
                IndexError::TooMany { field, max } => {
                    (field.clone(), format!("more than {max} entries"))
                }
            };
            issue(
                &format!("/{}", field.replace(['.', '['], "/").replace(']', "")),
                rule,
            )
        })?;
        if keep_context && let Ok(Value::Object(body)) = serde_json::from_str::<Value>(&ix.body) {
            let mut with = serde_json::Map::with_capacity(body.len() + 1);
            with.insert("@context".into(), context.clone());
            with.extend(body.into_iter().filter(|(k, _)| k != "@context"));
            ix.body = Value::Object(with).to_string();
        }
        Ok(ix)
    }

    pub fn document_hashes(doc: &Value) -> Result<Vec<String>, Issue> {
        epcis::hash::document_hashes(doc).map_err(|e| issue("", e.to_string()))
    }

    pub fn event_query(params: &[(String, String)]) -> Result<epcis::query::EventQuery, String> {
        epcis::query::EventQuery::from_params(params).map_err(|e| e.to_string())
    }

    pub fn json_to_xml(doc: &Value) -> Result<String, String> {
        epcis::xml::json_to_xml_document(doc).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_index_is_found_only_under_the_list() {
        let l = "/epcisBody/eventList";
        assert_eq!(
            event_index_of("/epcisBody/eventList/3/epcList/0", l),
            Some(3)
        );
        assert_eq!(event_index_of("/epcisBody/eventList/12", l), Some(12));
        assert_eq!(event_index_of("/epcisBody/eventListX/1", l), None);
        assert_eq!(event_index_of("/epcisHeader", l), None);
    }

    #[test]
    fn format_detection() {
        assert_eq!(
            Format::detect(Some("application/ld+json; charset=utf-8"), b"").unwrap(),
            Format::Json
        );
        assert_eq!(Format::detect(Some("text/xml"), b"").unwrap(), Format::Xml);
        assert!(Format::detect(Some("text/plain"), b"").is_err());
        assert_eq!(Format::detect(None, b"  <x/>").unwrap(), Format::Xml);
        assert_eq!(Format::detect(None, b"{}").unwrap(), Format::Json);
    }
}
