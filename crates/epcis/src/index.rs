//! What the store indexes of one event: extracted from the event's JSON-LD form (pure).
//!
//! Identifiers are canonicalised with `gs1::normalize_id` so that an EPC URI and the matching
//! GS1 Digital Link index (and match) the same.

/// The role an identifier plays in an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum IdRole {
    /// `epcList` (Object/Transaction event).
    Epc = 0,
    /// `parentID` (Aggregation/Transaction/Association event).
    Parent = 1,
    /// `childEPCs`.
    Child = 2,
    /// `inputEPCList`.
    Input = 3,
    /// `outputEPCList`.
    Output = 4,
    /// `quantityList[].epcClass`.
    Class = 5,
    /// `childQuantityList[].epcClass`.
    ChildClass = 6,
    /// `inputQuantityList[].epcClass`.
    InputClass = 7,
    /// `outputQuantityList[].epcClass`.
    OutputClass = 8,
}

impl IdRole {
    pub fn from_u8(v: u8) -> Option<IdRole> {
        use IdRole::*;
        Some(match v {
            0 => Epc,
            1 => Parent,
            2 => Child,
            3 => Input,
            4 => Output,
            5 => Class,
            6 => ChildClass,
            7 => InputClass,
            8 => OutputClass,
            _ => return None,
        })
    }
}

/// One identifier occurrence in an event, with its quantity for class roles.
#[derive(Debug, Clone, PartialEq)]
pub struct IdRef {
    pub role: IdRole,
    /// Canonical form (`gs1::normalize_id`).
    pub id: String,
    pub quantity: Option<f64>,
    pub uom: Option<String>,
}

/// Everything the store needs to index and store one event.
#[derive(Debug, Clone, PartialEq)]
pub struct EventIndex {
    /// The event's `eventID`, or its CBV 2.0 hash when it had none.
    pub event_id: String,
    /// `ni:///sha-256;…?ver=CBV2.0`
    pub event_hash: String,
    /// ObjectEvent, AggregationEvent, TransactionEvent, TransformationEvent, AssociationEvent.
    pub event_type: String,
    /// `eventTime` in milliseconds since the Unix epoch (UTC).
    pub event_time_ms: i64,
    pub action: Option<String>,
    /// Full CBV URI form where the input used a bare CBV word
    /// (`shipping` -> `https://ref.gs1.org/cbv/BizStep-shipping`); other URIs unchanged.
    pub biz_step: Option<String>,
    pub disposition: Option<String>,
    /// Canonical (`gs1::normalize_id`).
    pub read_point: Option<String>,
    pub biz_location: Option<String>,
    pub ids: Vec<IdRef>,
    /// (type URI or "" when untyped, canonical id)
    pub biz_transactions: Vec<(String, String)>,
    pub sources: Vec<(String, String)>,
    pub destinations: Vec<(String, String)>,
    pub has_error_declaration: bool,
    /// The event JSON as received, with `eventID` added if it had none, and without `recordTime`.
    pub body: String,
}
