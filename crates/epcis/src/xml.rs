//! EPCIS XML (2.0, and 1.2 where it costs little) <-> the EPCIS 2.0 JSON-LD form (pure).
//!
//! [`xml_to_json_document`] turns an `EPCISDocument`, an `EPCISQueryDocument`, an
//! `EPCISMasterDataDocument` (into an `EPCISDocument` whose `epcisHeader.epcisMasterData` holds the
//! vocabularies and whose event list is empty) or a bare event element into the JSON structure of
//! the GS1 JSON examples:
//! - standard fields keep their JSON names (`epcList`, `quantityList`, `bizTransactionList`,
//!   `sourceList`, `sensorElementList`, `persistentDisposition`, `ilmd`, `errorDeclaration`...);
//! - CBV values written as URNs or Web URIs (`urn:epcglobal:cbv:bizstep:shipping`) become the
//!   bare words of the JSON binding (`shipping`), sensor types `gs1:Temperature` become
//!   `Temperature`; `quantity` and the numeric sensor attributes become JSON numbers,
//!   `booleanValue` a JSON boolean;
//! - user extensions become members named `prefix:localName`; an element with children becomes an
//!   object, repeated elements an array, text stays a string; every namespace used by an extension
//!   gets an `@context` entry `{prefix: namespace}` after the standard EPCIS context;
//! - EPCIS 1.2 wrappers (`extension`, `baseExtension`, `<extension><TransformationEvent>`) are
//!   unwrapped.
//!
//! Element order is checked against the EPCIS 2.0 XSD sequence of each event type; an element
//! the XSD does not allow (an unqualified element that is not a standard field) is rejected.
//! Values are not validated here: run [`crate::validate`] on the result.
//!
//! [`json_to_xml_document`] writes the JSON form as EPCIS 2.0 XML in XSD order; CBV values are
//! written in their URN form, extension members as elements in their namespace (taken from the
//! `@context`).

mod read;
mod tree;
mod write;

use crate::document::{Document, DocumentError, Limits, document_from_value};
use serde_json::Value;

/// Why an XML document could not be converted. Each variant names the place and the rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    #[error("malformed XML: {0}")]
    Syntax(String),
    #[error("XML nesting deeper than {max} elements")]
    TooDeep { max: usize },
    #[error("XML document has more than {max} {what}")]
    TooLarge { what: &'static str, max: usize },
    #[error("<{element}>: namespace prefix `{prefix}` is not declared")]
    UnboundPrefix { prefix: String, element: String },
    #[error(
        "root element <{name}> is not an EPCISDocument, EPCISQueryDocument, EPCISMasterDataDocument or EPCIS event"
    )]
    UnsupportedRoot { name: String },
    /// `pointer` is the JSON pointer the element would have had.
    #[error("{pointer}: {rule}")]
    Invalid { pointer: String, rule: String },
    /// The converted document breaks a document limit or shape rule.
    #[error(transparent)]
    Document(#[from] DocumentError),
}

impl XmlError {
    /// The rule alone, without the pointer (which [`XmlError::pointer`] gives), for reports that
    /// carry both separately.
    pub fn rule(&self) -> String {
        match self {
            XmlError::Invalid { rule, .. } => rule.clone(),
            other => other.to_string(),
        }
    }

    /// JSON pointer of the offending field (`""` for the whole document).
    pub fn pointer(&self) -> &str {
        match self {
            XmlError::Invalid { pointer, .. } => pointer,
            XmlError::Document(e) => e.pointer(),
            _ => "",
        }
    }
}

/// How XML input is read. Every field from outside is bounded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XmlOptions {
    /// Element nesting.
    pub max_depth: usize,
    /// Elements in the whole document (the caller bounds the byte size).
    pub max_elements: usize,
    /// Events in the document; checked while reading, so a document with too many events is
    /// refused before it is converted whole. The default is far above any capture limit: the
    /// caller's own limit applies afterwards ([`parse_xml_document`] applies `Limits::max_events`
    /// while reading).
    pub max_events: usize,
    /// `true` (the default, as the standard says): event fields in the order of the EPCIS 2.0
    /// XSD sequence, and an `EPCISQueryDocument` with `EPCISBody/QueryResults`. `false`:
    /// field order is ignored and a query document may carry `queryName`/`resultsBody` directly
    /// under its root (as some published examples, e.g. the event hash generator's, do).
    pub strict: bool,
}

impl Default for XmlOptions {
    fn default() -> Self {
        XmlOptions {
            max_depth: 64,
            max_elements: 20_000_000,
            max_events: 10_000_000,
            strict: true,
        }
    }
}

/// The EPCIS 2.0 JSON-LD context every converted document starts its `@context` with.
pub const EPCIS_CONTEXT_URL: &str =
    "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld";

/// Converts an EPCIS XML document to its JSON-LD form (see the module docs), with
/// [`XmlOptions::default`] (strict).
pub fn xml_to_json_document(xml: &str) -> Result<Value, XmlError> {
    xml_to_json_document_with(xml, &XmlOptions::default())
}

/// [`xml_to_json_document`] with explicit options.
pub fn xml_to_json_document_with(xml: &str, options: &XmlOptions) -> Result<Value, XmlError> {
    let mut streamer = read::Streamer::new(options.strict, options.max_events);
    let (root, decls) = tree::parse(
        xml,
        &tree::Limits {
            max_depth: options.max_depth,
            max_elements: options.max_elements,
        },
        &mut |ancestors, decls, el| streamer.on_close(ancestors, decls, el),
    )?;
    read::document(&root, &decls, streamer)
}

/// Reads an XML body (`POST /epcis/capture` with an XML content type) into a [`Document`]:
/// the size and UTF-8 checks and the event limit of `limits`, the conversion of
/// [`xml_to_json_document_with`], then [`document_from_value`].
pub fn parse_xml_document(
    bytes: &[u8],
    limits: &Limits,
    options: &XmlOptions,
) -> Result<Document, XmlError> {
    if bytes.len() > limits.max_bytes {
        return Err(DocumentError::TooLarge {
            bytes: bytes.len(),
            max: limits.max_bytes,
        }
        .into());
    }
    let text = std::str::from_utf8(bytes).map_err(|e| DocumentError::InvalidUtf8 {
        offset: e.valid_up_to(),
    })?;
    let options = XmlOptions {
        max_events: options.max_events.min(limits.max_events),
        ..options.clone()
    };
    let value = match xml_to_json_document_with(text, &options) {
        Err(XmlError::TooLarge {
            what: "events",
            max,
        }) => {
            // Reading stopped at the first event over the limit: `count` is a lower bound.
            return Err(DocumentError::TooManyEvents {
                count: max + 1,
                max,
            }
            .into());
        }
        other => other?,
    };
    Ok(document_from_value(value, limits)?)
}

/// Writes a JSON-LD document (`EPCISDocument`, `EPCISQueryDocument` or a single event) as
/// EPCIS 2.0 XML.
pub fn json_to_xml_document(doc: &Value) -> Result<String, XmlError> {
    write::document(doc)
}

/// The XSD sequence of the standard (unqualified) children of each event type, EPCIS 2.0.
pub(crate) fn event_sequence(event_type: &str) -> Option<&'static [&'static str]> {
    const COMMON: [&str; 6] = [
        "eventTime",
        "recordTime",
        "eventTimeZoneOffset",
        "eventID",
        "errorDeclaration",
        "certificationInfo",
    ];
    macro_rules! seq {
        ($($f:literal),*) => {{
            const S: &[&str] = &[COMMON[0], COMMON[1], COMMON[2], COMMON[3], COMMON[4], COMMON[5], $($f),*];
            S
        }};
    }
    Some(match event_type {
        "ObjectEvent" => seq!(
            "epcList",
            "action",
            "bizStep",
            "disposition",
            "readPoint",
            "bizLocation",
            "bizTransactionList",
            "quantityList",
            "sourceList",
            "destinationList",
            "sensorElementList",
            "persistentDisposition",
            "ilmd"
        ),
        "AggregationEvent" => seq!(
            "parentID",
            "childEPCs",
            "action",
            "bizStep",
            "disposition",
            "readPoint",
            "bizLocation",
            "bizTransactionList",
            "childQuantityList",
            "sourceList",
            "destinationList",
            "sensorElementList",
            "persistentDisposition"
        ),
        "TransactionEvent" => seq!(
            "bizTransactionList",
            "parentID",
            "epcList",
            "action",
            "bizStep",
            "disposition",
            "readPoint",
            "bizLocation",
            "quantityList",
            "sourceList",
            "destinationList",
            "sensorElementList",
            "persistentDisposition"
        ),
        "TransformationEvent" => seq!(
            "inputEPCList",
            "inputQuantityList",
            "outputEPCList",
            "outputQuantityList",
            "transformationID",
            "bizStep",
            "disposition",
            "readPoint",
            "bizLocation",
            "bizTransactionList",
            "sourceList",
            "destinationList",
            "sensorElementList",
            "persistentDisposition",
            "ilmd"
        ),
        "AssociationEvent" => seq!(
            "parentID",
            "childEPCs",
            "childQuantityList",
            "action",
            "bizStep",
            "disposition",
            "readPoint",
            "bizLocation",
            "bizTransactionList",
            "sourceList",
            "destinationList",
            "sensorElementList",
            "persistentDisposition"
        ),
        _ => return None,
    })
}

/// Namespaces of the EPCIS XML schemas (1.x and 2.0): elements in them are standard elements.
pub(crate) fn is_epcis_namespace(ns: &str) -> bool {
    matches!(
        ns,
        "urn:epcglobal:epcis:xsd:1"
            | "urn:epcglobal:epcis:xsd:2"
            | "urn:epcglobal:epcis-query:xsd:1"
            | "urn:epcglobal:epcis-query:xsd:2"
            | "urn:epcglobal:epcis-masterdata:xsd:1"
            | "urn:epcglobal:epcis-masterdata:xsd:2"
    )
}

/// Prefixes the standard EPCIS 2.0 JSON-LD context defines: (prefix, namespace in the JSON-LD
/// context, namespace XML documents conventionally declare for it).
pub(crate) const STANDARD_PREFIXES: &[(&str, &str, &str)] = &[
    ("cbvmda", "urn:epcglobal:cbv:mda:", "urn:epcglobal:cbv:mda"),
    ("gs1", "https://gs1.org/voc/", "https://gs1.org/voc/"),
    (
        "cbv",
        "https://ref.gs1.org/cbv/",
        "https://ref.gs1.org/cbv/",
    ),
    (
        "epcis",
        "https://ref.gs1.org/epcis/",
        "https://ref.gs1.org/epcis/",
    ),
    (
        "xsd",
        "http://www.w3.org/2001/XMLSchema#",
        "http://www.w3.org/2001/XMLSchema#",
    ),
    (
        "rdfs",
        "http://www.w3.org/2000/01/rdf-schema#",
        "http://www.w3.org/2000/01/rdf-schema#",
    ),
    (
        "owl",
        "http://www.w3.org/2002/07/owl#",
        "http://www.w3.org/2002/07/owl#",
    ),
    (
        "dcterms",
        "http://purl.org/dc/terms/",
        "http://purl.org/dc/terms/",
    ),
];
