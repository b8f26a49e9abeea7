//! The few fields of an EPCIS event that trace needs, read from the stored JSON body through a
//! `serde_json::Value`: the reference reading. The walk reads events into its interned form
//! (`compact.rs`), which falls back to this reading and is tested equal to it; the recall
//! effectiveness figures read events with it.
//!
//! Identifiers are canonicalised with `gs1::normalize_id`, so an EPC URN and the matching GS1
//! Digital Link are the same object. CBV words are reduced to their bare form (`shipping`), whatever
//! form (bare, URN, Web URI) the event used.

use serde_json::Value;
use store::StoredEvent;

use crate::TraceError;

/// An event as trace sees it.
#[derive(Debug, Clone)]
pub struct Ev {
    pub id: String,
    pub seq: i64,
    /// The organisation that captured the event.
    pub owner: String,
    pub time_ms: i64,
    pub event_type: String,
    /// `ADD`, `OBSERVE`, `DELETE` (absent on transformations).
    pub action: Option<String>,
    /// Bare CBV word (`shipping`) or the URI as given for non-CBV steps.
    pub biz_step: Option<String>,
    pub disposition: Option<String>,
    pub read_point: Option<String>,
    pub biz_location: Option<String>,
    /// `epcList`
    pub epcs: Vec<String>,
    pub parent: Option<String>,
    /// `childEPCs`
    pub children: Vec<String>,
    pub inputs: Vec<String>,
    pub outputs: Vec<String>,
    /// `transformationID` of a TransformationEvent, as given: every TransformationEvent sharing
    /// it is one transformation (all their inputs contribute to all their outputs).
    pub transformation_id: Option<String>,
    /// `quantityList`
    pub quantities: Vec<Qty>,
    pub child_quantities: Vec<Qty>,
    pub input_quantities: Vec<Qty>,
    pub output_quantities: Vec<Qty>,
    /// Lots named by ILMD `lotNumber` for the serialised objects this event commissions or
    /// outputs: (serial, lot class) pairs, both canonical.
    pub ilmd_lots: Vec<(String, String)>,
    /// (bare type, canonical id)
    pub sources: Vec<(String, String)>,
    pub destinations: Vec<(String, String)>,
}

/// One entry of a quantity list.
#[derive(Debug, Clone, PartialEq)]
pub struct Qty {
    pub class: String,
    pub quantity: Option<f64>,
    pub uom: Option<String>,
}

/// The bare word of a CBV value in any of its forms.
pub fn bare_cbv(v: &str) -> String {
    for prefix in ["https://ref.gs1.org/cbv/", "http://ref.gs1.org/cbv/"] {
        if let Some(rest) = v.strip_prefix(prefix) {
            return rest
                .split_once('-')
                .map(|(_, w)| w)
                .unwrap_or(rest)
                .to_string();
        }
    }
    if let Some(rest) = v.strip_prefix("urn:epcglobal:cbv:") {
        return rest.rsplit(':').next().unwrap_or(rest).to_string();
    }
    v.to_string()
}

/// The lot class (canonical) of a canonical serialised GTIN id and a lot number, if the id is
/// a GS1 `01/…/21/…` Digital Link.
pub fn lot_of_serial(serial: &str, lot: &str) -> Option<String> {
    gs1::lot_class_of_serial(serial, lot)
}

fn strings(v: &Value, key: &str) -> Vec<String> {
    match v.get(key) {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| match x {
                Value::String(s) => Some(gs1::normalize_id(s)),
                Value::Object(o) => o.get("epc").and_then(Value::as_str).map(gs1::normalize_id),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn quantities(v: &Value, key: &str) -> Vec<Qty> {
    match v.get(key) {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|q| {
                let class = q.get("epcClass")?.as_str()?;
                Some(Qty {
                    class: gs1::normalize_id(class),
                    quantity: q.get("quantity").and_then(Value::as_f64),
                    uom: q.get("uom").and_then(Value::as_str).map(str::to_string),
                })
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn id_of(v: &Value, key: &str) -> Option<String> {
    match v.get(key)? {
        Value::Object(o) => o.get("id").and_then(Value::as_str).map(gs1::normalize_id),
        Value::String(s) => Some(gs1::normalize_id(s)),
        _ => None,
    }
}

fn source_dest(v: &Value, list: &str, field: &str) -> Vec<(String, String)> {
    match v.get(list) {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| {
                let ty = x
                    .get("type")
                    .and_then(Value::as_str)
                    .map(bare_cbv)
                    .unwrap_or_default();
                let id = x.get(field).and_then(Value::as_str)?;
                Some((ty, gs1::normalize_id(id)))
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// The ILMD lot number, under any prefix (`cbvmda:lotNumber`, the full URI, or `lotNumber`).
fn ilmd_lot_number(v: &Value) -> Option<String> {
    let ilmd = v.get("ilmd")?.as_object()?;
    ilmd.iter().find_map(|(k, val)| {
        let local = k.rsplit([':', '#']).next().unwrap_or(k);
        if local == "lotNumber" {
            val.as_str().map(str::to_string)
        } else {
            None
        }
    })
}

impl Ev {
    /// Read an event from its stored form.
    pub fn parse(e: &StoredEvent) -> Result<Ev, TraceError> {
        let v: Value = serde_json::from_str(&e.body).map_err(|err| TraceError::BadEvent {
            event_id: e.event_id.clone(),
            reason: err.to_string(),
        })?;
        let s = |k: &str| v.get(k).and_then(Value::as_str);
        let epcs = strings(&v, "epcList");
        let outputs = strings(&v, "outputEPCList");
        let mut ilmd_lots = Vec::new();
        if let Some(lot) = ilmd_lot_number(&v) {
            for serial in epcs.iter().chain(outputs.iter()) {
                if let Some(class) = lot_of_serial(serial, &lot) {
                    ilmd_lots.push((serial.clone(), class));
                }
            }
        }
        Ok(Ev {
            id: e.event_id.clone(),
            seq: e.seq,
            owner: e.owner.as_str().to_string(),
            time_ms: e.event_time_ms,
            event_type: e.event_type.clone(),
            action: s("action").map(str::to_string),
            biz_step: s("bizStep").map(bare_cbv),
            disposition: s("disposition").map(bare_cbv),
            read_point: id_of(&v, "readPoint"),
            biz_location: id_of(&v, "bizLocation"),
            epcs,
            parent: s("parentID").map(gs1::normalize_id),
            children: strings(&v, "childEPCs"),
            inputs: strings(&v, "inputEPCList"),
            outputs,
            transformation_id: (e.event_type == "TransformationEvent")
                .then(|| s("transformationID").map(str::to_string))
                .flatten(),
            quantities: quantities(&v, "quantityList"),
            child_quantities: quantities(&v, "childQuantityList"),
            input_quantities: quantities(&v, "inputQuantityList"),
            output_quantities: quantities(&v, "outputQuantityList"),
            ilmd_lots,
            sources: source_dest(&v, "sourceList", "source"),
            destinations: source_dest(&v, "destinationList", "destination"),
        })
    }

    pub fn action_is(&self, a: &str) -> bool {
        self.action.as_deref() == Some(a)
    }

    /// Where the event happened: `bizLocation`, else `readPoint`.
    pub fn location(&self) -> Option<&str> {
        self.biz_location.as_deref().or(self.read_point.as_deref())
    }
}
