//! What the store indexes of one event: extracted from the event's JSON-LD form (pure).
//!
//! Identifiers are canonicalised with `gs1::normalize_id` so that an EPC URI and the matching
//! GS1 Digital Link index (and match) the same. Bare CBV words (`shipping`, `in_transit`, `po`,
//! `owning_party`) are expanded to their `https://ref.gs1.org/cbv/…` URIs, and so are the
//! EPCIS 1.x URN forms (`urn:epcglobal:cbv:bizstep:shipping`), so that every spelling of one
//! vocabulary value indexes and matches the same.

use serde_json::{Map, Value};
use thiserror::Error;

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
    /// The lot class of a serial listed in `epcList` or `outputEPCList` of an event whose ILMD
    /// carries a `lotNumber` (serial -> lot link for trace). Not matched by any `MATCH_*`.
    IlmdLot = 9,
    /// `transformationID` of a TransformationEvent (kept as given: any URI).
    TransformationId = 10,
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
            9 => IlmdLot,
            10 => TransformationId,
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

/// The five EPCIS 2.0 event types, in the order of their store codes.
pub const EVENT_TYPES: [&str; 5] = [
    "ObjectEvent",
    "AggregationEvent",
    "TransactionEvent",
    "TransformationEvent",
    "AssociationEvent",
];

/// Most identifiers (EPCs, classes, parent) one event may carry.
pub const IDS_PER_EVENT_MAX: usize = 100_000;
/// Most bizTransactions, sources or destinations (each) one event may carry.
pub const LINKS_PER_EVENT_MAX: usize = 1_000;
/// Longest identifier or vocabulary value accepted (characters).
pub const VALUE_LEN_MAX: usize = 2_048;

/// Why an event could not be indexed. Every variant names the field.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum IndexError {
    #[error("{field}: required field is missing")]
    Missing { field: String },
    #[error("{field}: {rule}")]
    Invalid { field: String, rule: String },
    #[error("{field}: more than {max} entries")]
    TooMany { field: String, max: usize },
}

fn invalid(field: impl Into<String>, rule: impl Into<String>) -> IndexError {
    IndexError::Invalid {
        field: field.into(),
        rule: rule.into(),
    }
}

/// The CBV vocabularies whose bare words expand to `https://ref.gs1.org/cbv/<Prefix>-<word>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CbvVocab {
    BizStep,
    Disposition,
    BizTransactionType,
    SourceDestType,
    ErrorReason,
}

impl CbvVocab {
    fn web_prefix(self) -> &'static str {
        match self {
            CbvVocab::BizStep => "BizStep",
            CbvVocab::Disposition => "Disp",
            CbvVocab::BizTransactionType => "BTT",
            CbvVocab::SourceDestType => "SDT",
            CbvVocab::ErrorReason => "ER",
        }
    }
    fn urn_prefix(self) -> &'static str {
        match self {
            CbvVocab::BizStep => "urn:epcglobal:cbv:bizstep:",
            CbvVocab::Disposition => "urn:epcglobal:cbv:disp:",
            CbvVocab::BizTransactionType => "urn:epcglobal:cbv:btt:",
            CbvVocab::SourceDestType => "urn:epcglobal:cbv:sdt:",
            CbvVocab::ErrorReason => "urn:epcglobal:cbv:er:",
        }
    }
}

/// Expand a CBV value to its web URI: a bare word (no `:`), the CURIE `cbv:BizStep-word`, the
/// EPCIS 1.x URN (`urn:epcglobal:cbv:bizstep:word`) and the `http://` / `gs1.org/voc` spellings all
/// become `https://ref.gs1.org/cbv/BizStep-word`. Any other URI is returned unchanged.
pub fn expand_cbv(vocab: CbvVocab, value: &str) -> String {
    let p = vocab.web_prefix();
    let web = |word: &str| format!("https://ref.gs1.org/cbv/{p}-{word}");
    if !value.contains(':') {
        return web(value);
    }
    if let Some(word) = value.strip_prefix(vocab.urn_prefix()) {
        return web(word);
    }
    if let Some(rest) = value.strip_prefix("cbv:")
        && let Some(word) = rest.strip_prefix(p).and_then(|r| r.strip_prefix('-'))
    {
        return web(word);
    }
    for base in [
        "http://ref.gs1.org/cbv/",
        "https://gs1.org/voc/",
        "http://gs1.org/voc/",
    ] {
        if let Some(word) = value
            .strip_prefix(base)
            .and_then(|r| r.strip_prefix(p))
            .and_then(|r| r.strip_prefix('-'))
        {
            return web(word);
        }
    }
    value.to_string()
}

/// Parse an EPCIS date-time (RFC 3339 with `Z` or an offset, optional fraction) to milliseconds
/// since the Unix epoch (UTC). A space in place of a `+` offset sign (what `+` becomes when a
/// query string is decoded without percent-encoding) is accepted.
pub fn parse_time_ms(s: &str) -> Result<i64, String> {
    use time::OffsetDateTime;
    use time::format_description::well_known::Rfc3339;
    if s.len() > 64 {
        return Err("date-time longer than 64 characters".into());
    }
    let fixed;
    let mut input = s.trim_start();
    // "2022-06-30T00:15:47 08:00" -> "+08:00"
    if input.len() >= 6 {
        let b = input.as_bytes();
        let i = input.len() - 6;
        if b[i] == b' ' && b[i + 3] == b':' {
            fixed = format!("{}+{}", &input[..i], &input[i + 1..]);
            input = &fixed;
        }
    }
    let t = OffsetDateTime::parse(input, &Rfc3339)
        .map_err(|e| format!("not an RFC 3339 date-time with offset ({e}): {s:?}"))?;
    let ms = t.unix_timestamp_nanos().div_euclid(1_000_000);
    i64::try_from(ms).map_err(|_| format!("date-time out of range: {s:?}"))
}

fn str_field<'a>(obj: &'a Map<String, Value>, field: &str) -> Result<Option<&'a str>, IndexError> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => {
            if s.len() > VALUE_LEN_MAX {
                return Err(invalid(
                    field,
                    format!("longer than {VALUE_LEN_MAX} characters"),
                ));
            }
            Ok(Some(s))
        }
        Some(_) => Err(invalid(field, "must be a string")),
    }
}

/// `readPoint` / `bizLocation`: `{"id": "..."}` (a bare string is tolerated).
fn location(obj: &Map<String, Value>, field: &str) -> Result<Option<String>, IndexError> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(gs1::normalize_id(s))),
        Some(Value::Object(o)) => match o.get("id") {
            Some(Value::String(s)) if s.len() <= VALUE_LEN_MAX => Ok(Some(gs1::normalize_id(s))),
            Some(Value::String(_)) => Err(invalid(
                format!("{field}.id"),
                format!("longer than {VALUE_LEN_MAX} characters"),
            )),
            None => Err(IndexError::Missing {
                field: format!("{field}.id"),
            }),
            Some(_) => Err(invalid(format!("{field}.id"), "must be a string")),
        },
        Some(_) => Err(invalid(field, "must be an object with an id")),
    }
}

fn push_id_list(
    obj: &Map<String, Value>,
    field: &str,
    role: IdRole,
    out: &mut Vec<IdRef>,
) -> Result<(), IndexError> {
    let Some(v) = obj.get(field) else {
        return Ok(());
    };
    let arr = match v {
        Value::Null => return Ok(()),
        Value::Array(a) => a,
        _ => return Err(invalid(field, "must be an array of identifier URIs")),
    };
    for (i, e) in arr.iter().enumerate() {
        let Value::String(s) = e else {
            return Err(invalid(format!("{field}[{i}]"), "must be a string"));
        };
        if s.len() > VALUE_LEN_MAX {
            return Err(invalid(
                format!("{field}[{i}]"),
                format!("longer than {VALUE_LEN_MAX} characters"),
            ));
        }
        if out.len() >= IDS_PER_EVENT_MAX {
            return Err(IndexError::TooMany {
                field: field.into(),
                max: IDS_PER_EVENT_MAX,
            });
        }
        out.push(IdRef {
            role,
            id: gs1::normalize_id(s),
            quantity: None,
            uom: None,
        });
    }
    Ok(())
}

fn push_quantity_list(
    obj: &Map<String, Value>,
    field: &str,
    role: IdRole,
    out: &mut Vec<IdRef>,
) -> Result<(), IndexError> {
    let Some(v) = obj.get(field) else {
        return Ok(());
    };
    let arr = match v {
        Value::Null => return Ok(()),
        Value::Array(a) => a,
        _ => return Err(invalid(field, "must be an array of quantity elements")),
    };
    for (i, e) in arr.iter().enumerate() {
        let Value::Object(q) = e else {
            return Err(invalid(format!("{field}[{i}]"), "must be an object"));
        };
        let class = match q.get("epcClass") {
            Some(Value::String(s)) if s.len() <= VALUE_LEN_MAX => s,
            Some(Value::String(_)) => {
                return Err(invalid(
                    format!("{field}[{i}].epcClass"),
                    format!("longer than {VALUE_LEN_MAX} characters"),
                ));
            }
            None => {
                return Err(IndexError::Missing {
                    field: format!("{field}[{i}].epcClass"),
                });
            }
            Some(_) => {
                return Err(invalid(
                    format!("{field}[{i}].epcClass"),
                    "must be a string",
                ));
            }
        };
        let quantity = match q.get("quantity") {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => n.as_f64(),
            Some(_) => {
                return Err(invalid(
                    format!("{field}[{i}].quantity"),
                    "must be a number",
                ));
            }
        };
        let uom = match q.get("uom") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.len() <= 16 => Some(s.clone()),
            Some(_) => {
                return Err(invalid(
                    format!("{field}[{i}].uom"),
                    "must be a UN/CEFACT unit code string",
                ));
            }
        };
        if out.len() >= IDS_PER_EVENT_MAX {
            return Err(IndexError::TooMany {
                field: field.into(),
                max: IDS_PER_EVENT_MAX,
            });
        }
        out.push(IdRef {
            role,
            id: gs1::normalize_id(class),
            quantity,
            uom,
        });
    }
    Ok(())
}

/// `bizTransactionList` / `sourceList` / `destinationList`: `[{"type": ..., "<value_key>": ...}]`.
fn links(
    obj: &Map<String, Value>,
    field: &str,
    value_key: &str,
    vocab: CbvVocab,
) -> Result<Vec<(String, String)>, IndexError> {
    let Some(v) = obj.get(field) else {
        return Ok(Vec::new());
    };
    let arr = match v {
        Value::Null => return Ok(Vec::new()),
        Value::Array(a) => a,
        _ => return Err(invalid(field, "must be an array")),
    };
    if arr.len() > LINKS_PER_EVENT_MAX {
        return Err(IndexError::TooMany {
            field: field.into(),
            max: LINKS_PER_EVENT_MAX,
        });
    }
    let mut out = Vec::with_capacity(arr.len());
    for (i, e) in arr.iter().enumerate() {
        let Value::Object(o) = e else {
            return Err(invalid(format!("{field}[{i}]"), "must be an object"));
        };
        let ty = match str_field(o, "type")
            .map_err(|_| invalid(format!("{field}[{i}].type"), "must be a string"))?
        {
            Some(t) => expand_cbv(vocab, t),
            None => String::new(),
        };
        let value = match o.get(value_key) {
            Some(Value::String(s)) if s.len() <= VALUE_LEN_MAX => gs1::normalize_id(s),
            Some(Value::String(_)) => {
                return Err(invalid(
                    format!("{field}[{i}].{value_key}"),
                    format!("longer than {VALUE_LEN_MAX} characters"),
                ));
            }
            None => {
                return Err(IndexError::Missing {
                    field: format!("{field}[{i}].{value_key}"),
                });
            }
            Some(_) => {
                return Err(invalid(
                    format!("{field}[{i}].{value_key}"),
                    "must be a string",
                ));
            }
        };
        out.push((ty, value));
    }
    Ok(out)
}

/// Extract the index of one event in its JSON-LD form.
///
/// `event_hash` is the event's CBV 2.0 hash (`epcis::hash`), computed by the caller on the event as
/// received. The event's `eventID` is kept; an event without one gets `event_hash` as its ID, and
/// the stored body gets `eventID` added (right after `type`). `recordTime` is removed from the
/// body: the store sets it.
pub fn extract(event: &Value, event_hash: String) -> Result<EventIndex, IndexError> {
    let Value::Object(obj) = event else {
        return Err(invalid("event", "must be a JSON object"));
    };
    let event_type = match str_field(obj, "type")? {
        Some(t) if EVENT_TYPES.contains(&t) => t.to_string(),
        Some(t) => {
            return Err(invalid(
                "type",
                format!("must be one of {}, got {t:?}", EVENT_TYPES.join(", ")),
            ));
        }
        None => {
            return Err(IndexError::Missing {
                field: "type".into(),
            });
        }
    };
    let event_time_ms = match str_field(obj, "eventTime")? {
        Some(t) => parse_time_ms(t).map_err(|r| invalid("eventTime", r))?,
        None => {
            return Err(IndexError::Missing {
                field: "eventTime".into(),
            });
        }
    };
    let given_id = str_field(obj, "eventID")?.map(str::to_string);
    let action = match str_field(obj, "action")? {
        Some(a @ ("ADD" | "OBSERVE" | "DELETE")) => Some(a.to_string()),
        Some(a) => {
            return Err(invalid(
                "action",
                format!("must be ADD, OBSERVE or DELETE, got {a:?}"),
            ));
        }
        None => None,
    };
    if action.is_none() && event_type != "TransformationEvent" {
        return Err(IndexError::Missing {
            field: "action".into(),
        });
    }
    let biz_step = str_field(obj, "bizStep")?.map(|s| expand_cbv(CbvVocab::BizStep, s));
    let disposition = str_field(obj, "disposition")?.map(|s| expand_cbv(CbvVocab::Disposition, s));
    let read_point = location(obj, "readPoint")?;
    let biz_location = location(obj, "bizLocation")?;

    let mut ids = Vec::new();
    if let Some(p) = str_field(obj, "parentID")? {
        ids.push(IdRef {
            role: IdRole::Parent,
            id: gs1::normalize_id(p),
            quantity: None,
            uom: None,
        });
    }
    push_id_list(obj, "epcList", IdRole::Epc, &mut ids)?;
    push_id_list(obj, "childEPCs", IdRole::Child, &mut ids)?;
    push_id_list(obj, "inputEPCList", IdRole::Input, &mut ids)?;
    push_id_list(obj, "outputEPCList", IdRole::Output, &mut ids)?;
    push_quantity_list(obj, "quantityList", IdRole::Class, &mut ids)?;
    push_quantity_list(obj, "childQuantityList", IdRole::ChildClass, &mut ids)?;
    push_quantity_list(obj, "inputQuantityList", IdRole::InputClass, &mut ids)?;
    push_quantity_list(obj, "outputQuantityList", IdRole::OutputClass, &mut ids)?;
    push_ilmd_lots(obj, &mut ids);
    if let Some(t) = str_field(obj, "transformationID")? {
        ids.push(IdRef {
            role: IdRole::TransformationId,
            id: t.to_string(),
            quantity: None,
            uom: None,
        });
    }

    let biz_transactions = links(
        obj,
        "bizTransactionList",
        "bizTransaction",
        CbvVocab::BizTransactionType,
    )?;
    let sources = links(obj, "sourceList", "source", CbvVocab::SourceDestType)?;
    let destinations = links(
        obj,
        "destinationList",
        "destination",
        CbvVocab::SourceDestType,
    )?;
    let has_error_declaration = matches!(obj.get("errorDeclaration"), Some(v) if !v.is_null());

    let (event_id, body) = match given_id {
        Some(id) if obj.contains_key("recordTime") => {
            let mut o = obj.clone();
            o.shift_remove("recordTime");
            (id, Value::Object(o).to_string())
        }
        Some(id) => (id, event.to_string()),
        None => {
            let mut o = Map::with_capacity(obj.len() + 1);
            let mut placed = false;
            for (k, v) in obj {
                if k == "recordTime" {
                    continue;
                }
                o.insert(k.clone(), v.clone());
                if k == "type" {
                    o.insert("eventID".into(), Value::String(event_hash.clone()));
                    placed = true;
                }
            }
            if !placed {
                o.insert("eventID".into(), Value::String(event_hash.clone()));
            }
            (event_hash.clone(), Value::Object(o).to_string())
        }
    };

    Ok(EventIndex {
        event_id,
        event_hash,
        event_type,
        event_time_ms,
        action,
        biz_step,
        disposition,
        read_point,
        biz_location,
        ids,
        biz_transactions,
        sources,
        destinations,
        has_error_declaration,
        body,
    })
}

/// Hash (CBV 2.0, `crate::hash`) and index one event. `context` is the document's `@context`
/// (`Value::Null` if none). For many events of one document, build one [`crate::hash::Hasher`]
/// and call [`index_event_with`].
pub fn index_event(event: &Value, context: &Value) -> Result<EventIndex, IndexError> {
    index_event_with(&crate::hash::Hasher::new(context), event)
}

/// [`index_event`] with a prepared hasher.
pub fn index_event_with(
    hasher: &crate::hash::Hasher<'_>,
    event: &Value,
) -> Result<EventIndex, IndexError> {
    let hash = hasher
        .event_hash(event)
        .map_err(|e| invalid("event", format!("cannot compute the event hash: {e}")))?;
    extract(event, hash)
}

/// The ILMD lot number, under any prefix (`cbvmda:lotNumber`, the full URI, or `lotNumber`).
pub fn ilmd_lot_number(event: &serde_json::Map<String, Value>) -> Option<&str> {
    let ilmd = event.get("ilmd")?.as_object()?;
    ilmd.iter().find_map(|(k, val)| {
        let local = k.rsplit([':', '#', '/']).next().unwrap_or(k);
        let local = local.strip_prefix("MDA-").unwrap_or(local);
        if local == "lotNumber" {
            val.as_str()
        } else {
            None
        }
    })
}

/// Adds an [`IdRole::IlmdLot`] reference for every serialised GTIN commissioned with an ILMD lot.
fn push_ilmd_lots(event: &serde_json::Map<String, Value>, ids: &mut Vec<IdRef>) {
    let Some(lot) = ilmd_lot_number(event) else {
        return;
    };
    let lots: Vec<IdRef> = ids
        .iter()
        .filter(|r| matches!(r.role, IdRole::Epc | IdRole::Output))
        .filter_map(|r| gs1::lot_class_of_serial(&r.id, lot))
        .map(|id| IdRef {
            role: IdRole::IlmdLot,
            id,
            quantity: None,
            uom: None,
        })
        .collect();
    ids.extend(lots);
}
