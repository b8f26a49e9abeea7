//! EPCIS 2.0 JSON/JSON-LD documents: bounded parsing and the CBV vocabulary helpers (pure).
//!
//! [`parse_json_document`] accepts an `EPCISDocument`, an `EPCISQueryDocument` (events at
//! `epcisBody.queryResults.resultsBody.eventList`) or a single event (the body of
//! `POST /epcis/events`). Everything that comes from outside is bounded by [`Limits`]: the input
//! is checked for UTF-8, size, nesting depth and string length *before* a JSON tree is built,
//! so a hostile document costs one linear scan and never a panic or a stack overflow.
//!
//! The events are kept as JSON values (key order preserved) so that user extensions survive.
//! Schema and semantic validation live in [`crate::validate`].

mod cbv;

pub use cbv::{CbvField, compact_cbv_value, expand_cbv_value, expand_cbv_value_owned};

use serde_json::{Map, Value};

/// Limits on a document that comes from outside. Every field is a maximum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Size of the whole document in bytes.
    pub max_bytes: usize,
    /// Events in one document.
    pub max_events: usize,
    /// Nesting depth of JSON objects and arrays (the document root is depth 1).
    pub max_depth: usize,
    /// Length of one JSON string (key or value) in bytes, as written (escapes count as written).
    pub max_string_len: usize,
}

impl Limits {
    /// Default: 64 MiB.
    pub const DEFAULT_MAX_BYTES: usize = 64 * 1024 * 1024;
    /// Default: 100,000 events.
    pub const DEFAULT_MAX_EVENTS: usize = 100_000;
    /// Default: depth 64.
    pub const DEFAULT_MAX_DEPTH: usize = 64;
    /// Default: 64 KiB per string.
    pub const DEFAULT_MAX_STRING_LEN: usize = 64 * 1024;
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: Self::DEFAULT_MAX_BYTES,
            max_events: Self::DEFAULT_MAX_EVENTS,
            max_depth: Self::DEFAULT_MAX_DEPTH,
            max_string_len: Self::DEFAULT_MAX_STRING_LEN,
        }
    }
}

/// What kind of JSON document was parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocumentKind {
    /// `"type": "EPCISDocument"` (capture).
    EpcisDocument,
    /// `"type": "EPCISQueryDocument"` (query results).
    EpcisQueryDocument,
    /// One bare event (`"type": "ObjectEvent"` etc.), as `POST /epcis/events` receives it.
    SingleEvent,
}

/// The event types of EPCIS 2.0.
pub const EVENT_TYPES: [&str; 5] = [
    "ObjectEvent",
    "AggregationEvent",
    "TransactionEvent",
    "TransformationEvent",
    "AssociationEvent",
];

/// A parsed JSON document: its parts, with the events taken out of the tree.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// The document's `@context` (`Value::Null` when absent). For a single event, the event's own.
    pub context: Value,
    pub kind: DocumentKind,
    /// `epcisHeader`, when present.
    pub header: Option<Value>,
    /// The events in document order. A single event is kept whole (including its `@context`).
    pub events: Vec<Value>,
    /// The other top-level members of the document (`type`, `schemaVersion`, `creationDate`,
    /// `sender`, `id`, user extensions, ...) without `@context`, `epcisHeader` and `epcisBody`.
    /// Empty for a single event.
    pub attributes: Map<String, Value>,
    /// `epcisBody.queryResults.queryName` of a query document.
    pub query_name: Option<String>,
    /// `epcisBody.queryResults.subscriptionID` of a query document.
    pub subscription_id: Option<String>,
    /// JSON pointer of the event list (`/epcisBody/eventList`,
    /// `/epcisBody/queryResults/resultsBody/eventList`, or `""` for a single event); event `i`
    /// is at `{events_pointer}/{i}`.
    pub events_pointer: &'static str,
}

impl Document {
    /// JSON pointer of event `i` in the original document.
    pub fn event_pointer(&self, i: usize) -> String {
        match self.kind {
            DocumentKind::SingleEvent => String::new(),
            _ => format!("{}/{i}", self.events_pointer),
        }
    }
}

/// Why a document could not be parsed. Each variant names the place and the rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocumentError {
    #[error("document is {bytes} bytes; the limit is {max} bytes")]
    TooLarge { bytes: usize, max: usize },
    #[error("document is not valid UTF-8 (first invalid byte at offset {offset})")]
    InvalidUtf8 { offset: usize },
    #[error("JSON nesting deeper than {max} levels at byte offset {offset}")]
    TooDeep { max: usize, offset: usize },
    #[error("a JSON string longer than {max} bytes starts at byte offset {offset}")]
    StringTooLong { max: usize, offset: usize },
    #[error("document has {count} events; the limit is {max}")]
    TooManyEvents { count: usize, max: usize },
    #[error("malformed JSON at line {line}, column {column}: {message}")]
    Json {
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{pointer}: required member is missing")]
    Missing { pointer: String },
    #[error("{pointer}: must be {expected}")]
    WrongType {
        pointer: String,
        expected: &'static str,
    },
    #[error("/type: `{found}` is not EPCISDocument, EPCISQueryDocument or an EPCIS event type")]
    UnknownType { found: String },
}

impl DocumentError {
    /// JSON pointer of the offending member, `""` for the whole document.
    pub fn pointer(&self) -> &str {
        match self {
            DocumentError::Missing { pointer } | DocumentError::WrongType { pointer, .. } => {
                pointer
            }
            DocumentError::UnknownType { .. } => "/type",
            DocumentError::TooManyEvents { .. } => "/epcisBody/eventList",
            _ => "",
        }
    }
}

/// Parses a JSON document within `limits`. See the module docs for what is accepted.
pub fn parse_json_document(bytes: &[u8], limits: &Limits) -> Result<Document, DocumentError> {
    if bytes.len() > limits.max_bytes {
        return Err(DocumentError::TooLarge {
            bytes: bytes.len(),
            max: limits.max_bytes,
        });
    }
    let text = std::str::from_utf8(bytes).map_err(|e| DocumentError::InvalidUtf8 {
        offset: e.valid_up_to(),
    })?;
    scan_limits(text.as_bytes(), limits)?;
    let root: Value = serde_json::from_str(text).map_err(|e| DocumentError::Json {
        line: e.line(),
        column: e.column(),
        message: strip_position(&e.to_string()),
    })?;
    document_from_value(root, limits)
}

/// Splits an already parsed JSON value into a [`Document`] (for callers that built the value
/// themselves, e.g. from XML). Applies `limits.max_events`.
pub fn document_from_value(root: Value, limits: &Limits) -> Result<Document, DocumentError> {
    let Value::Object(mut root) = root else {
        return Err(DocumentError::WrongType {
            pointer: String::new(),
            expected: "a JSON object",
        });
    };
    let ty = match root.get("type") {
        None => {
            return Err(DocumentError::Missing {
                pointer: "/type".into(),
            });
        }
        Some(Value::String(s)) => s.clone(),
        Some(_) => {
            return Err(DocumentError::WrongType {
                pointer: "/type".into(),
                expected: "a string",
            });
        }
    };
    let kind = match ty.as_str() {
        "EPCISDocument" => DocumentKind::EpcisDocument,
        "EPCISQueryDocument" => DocumentKind::EpcisQueryDocument,
        t if EVENT_TYPES.contains(&t) => DocumentKind::SingleEvent,
        _ => return Err(DocumentError::UnknownType { found: ty }),
    };
    if kind == DocumentKind::SingleEvent {
        let context = root.get("@context").cloned().unwrap_or(Value::Null);
        return Ok(Document {
            context,
            kind,
            header: None,
            events: vec![Value::Object(root)],
            attributes: Map::new(),
            query_name: None,
            subscription_id: None,
            events_pointer: "",
        });
    }
    let context = root.remove("@context").unwrap_or(Value::Null);
    let header = root.remove("epcisHeader");
    let body = take_object(&mut root, "epcisBody", "/epcisBody")?;
    let (events, pointer, query_name, subscription_id) = match kind {
        DocumentKind::EpcisDocument => {
            let mut body = body;
            let list = take_array(&mut body, "eventList", "/epcisBody/eventList")?;
            (list, "/epcisBody/eventList", None, None)
        }
        _ => {
            let mut body = body;
            let mut qr = take_object(&mut body, "queryResults", "/epcisBody/queryResults")?;
            let query_name = opt_string(&qr, "queryName", "/epcisBody/queryResults/queryName")?;
            let sub = opt_string(
                &qr,
                "subscriptionID",
                "/epcisBody/queryResults/subscriptionID",
            )?;
            let mut rb = take_object(
                &mut qr,
                "resultsBody",
                "/epcisBody/queryResults/resultsBody",
            )?;
            let list = take_array(
                &mut rb,
                "eventList",
                "/epcisBody/queryResults/resultsBody/eventList",
            )?;
            (
                list,
                "/epcisBody/queryResults/resultsBody/eventList",
                query_name,
                sub,
            )
        }
    };
    if events.len() > limits.max_events {
        return Err(DocumentError::TooManyEvents {
            count: events.len(),
            max: limits.max_events,
        });
    }
    for (i, e) in events.iter().enumerate() {
        if !e.is_object() {
            return Err(DocumentError::WrongType {
                pointer: format!("{pointer}/{i}"),
                expected: "a JSON object (an event)",
            });
        }
    }
    Ok(Document {
        context,
        kind,
        header,
        events,
        attributes: root,
        query_name,
        subscription_id,
        events_pointer: pointer,
    })
}

fn take_object(
    m: &mut Map<String, Value>,
    key: &str,
    pointer: &str,
) -> Result<Map<String, Value>, DocumentError> {
    match m.remove(key) {
        None => Err(DocumentError::Missing {
            pointer: pointer.into(),
        }),
        Some(Value::Object(o)) => Ok(o),
        Some(_) => Err(DocumentError::WrongType {
            pointer: pointer.into(),
            expected: "a JSON object",
        }),
    }
}

fn take_array(
    m: &mut Map<String, Value>,
    key: &str,
    pointer: &str,
) -> Result<Vec<Value>, DocumentError> {
    match m.remove(key) {
        None => Err(DocumentError::Missing {
            pointer: pointer.into(),
        }),
        Some(Value::Array(a)) => Ok(a),
        Some(_) => Err(DocumentError::WrongType {
            pointer: pointer.into(),
            expected: "a JSON array",
        }),
    }
}

fn opt_string(
    m: &Map<String, Value>,
    key: &str,
    pointer: &str,
) -> Result<Option<String>, DocumentError> {
    match m.get(key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(DocumentError::WrongType {
            pointer: pointer.into(),
            expected: "a string",
        }),
    }
}

/// serde_json appends " at line L column C"; we report those as fields.
fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

/// One linear pass over the raw bytes: nesting depth and string lengths, without building
/// anything. Malformed JSON is left for the parser to report.
fn scan_limits(bytes: &[u8], limits: &Limits) -> Result<(), DocumentError> {
    let mut depth = 0usize;
    let mut i = 0usize;
    while i < bytes.len() {
        match bytes[i] {
            b'{' | b'[' => {
                depth += 1;
                if depth > limits.max_depth {
                    return Err(DocumentError::TooDeep {
                        max: limits.max_depth,
                        offset: i,
                    });
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            b'"' => {
                let start = i;
                i += 1;
                while i < bytes.len() {
                    match bytes[i] {
                        b'\\' => i += 2,
                        b'"' => break,
                        _ => i += 1,
                    }
                }
                // Bytes between the quotes.
                let len = i.min(bytes.len()).saturating_sub(start + 1);
                if len > limits.max_string_len {
                    return Err(DocumentError::StringTooLong {
                        max: limits.max_string_len,
                        offset: start,
                    });
                }
            }
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_is_limited_before_parsing() {
        let deep = "[".repeat(100_000);
        let err = parse_json_document(deep.as_bytes(), &Limits::default()).unwrap_err();
        assert!(matches!(err, DocumentError::TooDeep { max: 64, .. }));
    }

    #[test]
    fn invalid_utf8_is_typed() {
        let err = parse_json_document(b"{\"type\":\"\xff\"}", &Limits::default()).unwrap_err();
        assert_eq!(err, DocumentError::InvalidUtf8 { offset: 9 });
    }

    #[test]
    fn brackets_inside_strings_do_not_count() {
        let limits = Limits {
            max_depth: 3,
            ..Limits::default()
        };
        let doc = r#"{"type":"ObjectEvent","x":"[[[[[[{{{{\"]]]"}"#;
        assert!(parse_json_document(doc.as_bytes(), &limits).is_ok());
    }
}
