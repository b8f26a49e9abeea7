//! Effectiveness reports as EPCIS events: what a holder did with recalled goods is captured in
//! the holder's own scope through the capture pipeline (same validation, all-or-nothing, durable
//! before the answer), so the recall's record and the traceability record are one. The recall
//! scope and the effectiveness figures are then read back from those events.
//!
//! | report | bizStep | disposition | the holder's `held` |
//! |---|---|---|---|
//! | `returned` (sent back up the chain) | `shipping` | `recalled` | falls |
//! | `destroyed` | `destroying` | `destroyed` | falls |
//! | `corrected` (repaired, relabelled in place) | `repairing` | `conformant` | unchanged |
//! | `held` (segregated, awaiting return or destruction) | `holding` | `recalled` | unchanged |
//! | `received` (returns taken back from customers or consignees) | `receiving` | `recalled` | rises |
//!
//! Every event is an `ObjectEvent` with action `OBSERVE` and carries the recall in its
//! `bizTransactionList`: type [`RECALL_BTT`], value [`recall_uri`]. See `docs/trace.md`.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use store::{ErrorBehaviour, OrgId, Scope, Store, StoreError};
use trace::recall::RecallScope;

use super::check_text;
use crate::error::ApiError;
use crate::pipeline::{self, CaptureRequest, Issue, PipelineError};

/// The `bizTransactionList` type that marks an event as part of a recall (a URI, as EPCIS 2.0
/// allows for types outside the CBV list).
pub const RECALL_BTT: &str = "urn:zhiliang:btt:recall";

/// Most identifiers or quantity entries in one report part.
pub const REPORT_ITEMS_MAX: usize = 10_000;

/// Most effectiveness events read for one recall's figures.
pub const REPORT_EVENTS_MAX: usize = 100_000;

/// The bizTransaction value naming recall `id`.
pub fn recall_uri(id: &str) -> String {
    format!("urn:zhiliang:recall:{id}")
}

/// The kinds of report, in the order their events are written.
pub const KINDS: [&str; 5] = ["held", "received", "returned", "corrected", "destroyed"];

fn cbv_of(kind: &str) -> (&'static str, &'static str) {
    match kind {
        "returned" => ("shipping", "recalled"),
        "destroyed" => ("destroying", "destroyed"),
        "corrected" => ("repairing", "conformant"),
        "received" => ("receiving", "recalled"),
        _ => ("holding", "recalled"),
    }
}

/// The report kind of a stored effectiveness event, from its bizStep.
fn kind_of(biz_step: Option<&str>, disposition: Option<&str>) -> Option<&'static str> {
    if disposition == Some("destroyed") {
        return Some("destroyed");
    }
    match biz_step? {
        "shipping" => Some("returned"),
        "destroying" => Some("destroyed"),
        "repairing" => Some("corrected"),
        "receiving" => Some("received"),
        "holding" => Some("held"),
        _ => None,
    }
}

/// One validated report: the holder, where, and per kind what.
#[derive(Debug)]
pub struct Report {
    pub holder: String,
    pub location: Option<String>,
    /// kind -> (epcList, quantityList, party)
    pub parts: BTreeMap<&'static str, Part>,
}

#[derive(Debug, Default)]
pub struct Part {
    pub epcs: Vec<String>,
    pub quantities: Vec<Value>,
    /// `to` of `returned`, `from` of `received`: a party identifier (PGLN or Digital Link).
    pub party: Option<String>,
}

/// Parse a report body. Objects are checked against the recall scope later ([`check_scope`]).
pub fn parse_report(v: &Value, caller_org: &str) -> Result<Report, ApiError> {
    let m = v
        .as_object()
        .ok_or_else(|| ApiError::validation("", "must be an object"))?;
    let allowed: Vec<&str> = ["holder", "location"]
        .into_iter()
        .chain(KINDS.iter().copied())
        .collect();
    if let Some(k) = m.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(ApiError::validation(
            &format!("/{k}"),
            format!("unknown field; allowed: {}", allowed.join(", ")),
        ));
    }
    let holder = match m.get("holder") {
        None | Some(Value::Null) => caller_org.to_string(),
        Some(Value::String(s)) => {
            check_text("/holder", s)?;
            s.clone()
        }
        Some(_) => return Err(ApiError::validation("/holder", "must be a string")),
    };
    let location = match m.get("location") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => {
            check_text("/location", s)?;
            Some(s.clone())
        }
        Some(_) => {
            return Err(ApiError::validation(
                "/location",
                "must be a string (an SGLN or GS1 Digital Link)",
            ));
        }
    };
    let mut parts = BTreeMap::new();
    for kind in KINDS {
        let Some(p) = m.get(kind).filter(|v| !v.is_null()) else {
            continue;
        };
        let at = format!("/{kind}");
        let o = p.as_object().ok_or_else(|| {
            ApiError::validation(
                &at,
                "must be an object {epcList, quantityList}: name what was reported, a bare count cannot be captured as an EPCIS event",
            )
        })?;
        let party_field = match kind {
            "returned" => Some("to"),
            "received" => Some("from"),
            _ => None,
        };
        if let Some(k) = o.keys().find(|k| {
            !["epcList", "quantityList"].contains(&k.as_str()) && Some(k.as_str()) != party_field
        }) {
            return Err(ApiError::validation(
                &format!("{at}/{k}"),
                format!(
                    "unknown field; allowed: epcList, quantityList{}",
                    party_field.map(|f| format!(", {f}")).unwrap_or_default()
                ),
            ));
        }
        let mut part = Part::default();
        if let Some(l) = o.get("epcList") {
            let a = l.as_array().ok_or_else(|| {
                ApiError::validation(&format!("{at}/epcList"), "must be an array of identifiers")
            })?;
            if a.len() > REPORT_ITEMS_MAX {
                return Err(ApiError::validation(
                    &format!("{at}/epcList"),
                    format!("at most {REPORT_ITEMS_MAX} identifiers"),
                ));
            }
            for (i, x) in a.iter().enumerate() {
                let p = format!("{at}/epcList/{i}");
                let s = x
                    .as_str()
                    .ok_or_else(|| ApiError::validation(&p, "must be a string"))?;
                check_text(&p, s)?;
                part.epcs.push(s.to_string());
            }
        }
        if let Some(l) = o.get("quantityList") {
            let a = l.as_array().ok_or_else(|| {
                ApiError::validation(
                    &format!("{at}/quantityList"),
                    "must be an array of {epcClass, quantity, uom}",
                )
            })?;
            if a.len() > REPORT_ITEMS_MAX {
                return Err(ApiError::validation(
                    &format!("{at}/quantityList"),
                    format!("at most {REPORT_ITEMS_MAX} entries"),
                ));
            }
            for (i, q) in a.iter().enumerate() {
                let p = format!("{at}/quantityList/{i}");
                let qo = q
                    .as_object()
                    .ok_or_else(|| ApiError::validation(&p, "must be an object"))?;
                let class = qo.get("epcClass").and_then(Value::as_str).ok_or_else(|| {
                    ApiError::validation(&format!("{p}/epcClass"), "required: a lot (class) id")
                })?;
                check_text(&format!("{p}/epcClass"), class)?;
                qo.get("quantity")
                    .and_then(Value::as_f64)
                    .filter(|x| x.is_finite() && *x > 0.0 && *x <= 1e12)
                    .ok_or_else(|| {
                        ApiError::validation(
                            &format!("{p}/quantity"),
                            "required: a number above 0, at most 1e12",
                        )
                    })?;
                part.quantities.push(q.clone());
            }
        }
        if part.epcs.is_empty() && part.quantities.is_empty() {
            return Err(ApiError::validation(
                &at,
                "names nothing: give epcList and/or quantityList",
            ));
        }
        if let Some(f) = party_field
            && let Some(x) = o.get(f)
        {
            let s = x.as_str().ok_or_else(|| {
                ApiError::validation(
                    &format!("{at}/{f}"),
                    "must be a party identifier (PGLN URI or GS1 Digital Link)",
                )
            })?;
            check_text(&format!("{at}/{f}"), s)?;
            part.party = Some(s.to_string());
        }
        parts.insert(kind, part);
    }
    if parts.is_empty() {
        return Err(ApiError::validation(
            "",
            format!("report at least one of {}", KINDS.join(", ")),
        ));
    }
    Ok(Report {
        holder,
        location,
        parts,
    })
}

/// Every object of a report must be an affected serial (`epcList`) or lot (`quantityList`) of
/// the recall; the location defaults to the holder's only location in the scope.
pub fn check_scope(r: &mut Report, full: &RecallScope) -> Result<(), ApiError> {
    let serials: BTreeSet<&str> = full.serials.iter().map(String::as_str).collect();
    let lots: BTreeSet<&str> = full.lots.iter().map(String::as_str).collect();
    for (kind, p) in &r.parts {
        for (i, e) in p.epcs.iter().enumerate() {
            if !serials.contains(gs1::normalize_id(e).as_str()) {
                return Err(ApiError::validation(
                    &format!("/{kind}/epcList/{i}"),
                    "not an affected serial of this recall (containers: name the serials inside; lots: use quantityList)",
                ));
            }
        }
        for (i, q) in p.quantities.iter().enumerate() {
            let c = q["epcClass"].as_str().unwrap_or_default();
            if !lots.contains(gs1::normalize_id(c).as_str()) {
                return Err(ApiError::validation(
                    &format!("/{kind}/quantityList/{i}/epcClass"),
                    "not an affected lot of this recall",
                ));
            }
        }
    }
    if r.location.is_none() {
        let locs: BTreeSet<Option<&String>> = full
            .holders()
            .filter(|h| h.organisation == r.holder)
            .map(|h| h.location.as_ref())
            .collect();
        if locs.len() > 1 {
            let names: Vec<&str> = locs.iter().flatten().map(|s| s.as_str()).collect();
            return Err(ApiError::validation(
                "/location",
                format!(
                    "required: {} holds affected goods at several locations ({})",
                    r.holder,
                    names.join(", ")
                ),
            ));
        }
        r.location = locs.into_iter().next().flatten().cloned();
    }
    Ok(())
}

/// The EPCIS document of a report (one ObjectEvent per kind), and the kind of each event.
pub fn report_document(
    recall_id: &str,
    r: &Report,
    now_ms: i64,
) -> (Value, Vec<&'static str>, Vec<String>) {
    let time = crate::output::format_time_ms(now_ms);
    let mut events = Vec::new();
    let mut kinds = Vec::new();
    let mut ids = Vec::new();
    for kind in KINDS {
        let Some(p) = r.parts.get(kind) else { continue };
        let (step, disp) = cbv_of(kind);
        let mut e = Map::new();
        e.insert("type".into(), json!("ObjectEvent"));
        // Unique per recall, holder, kind, time and content: a retried request at the same
        // millisecond is stored once.
        let digest = Sha256::digest(
            format!(
                "{recall_id}|{}|{kind}|{now_ms}|{:?}|{:?}|{:?}",
                r.holder, p.epcs, p.quantities, p.party
            )
            .as_bytes(),
        );
        let h = hex::encode(&digest[..16]);
        let id = format!(
            "urn:uuid:{}-{}-8{}-a{}-{}",
            &h[0..8],
            &h[8..12],
            &h[13..16],
            &h[17..20],
            &h[20..32]
        );
        e.insert("eventID".into(), json!(id));
        e.insert("eventTime".into(), json!(time));
        e.insert("eventTimeZoneOffset".into(), json!("+00:00"));
        if !p.epcs.is_empty() {
            e.insert("epcList".into(), json!(p.epcs));
        }
        e.insert("action".into(), json!("OBSERVE"));
        e.insert("bizStep".into(), json!(step));
        e.insert("disposition".into(), json!(disp));
        if let Some(l) = &r.location {
            e.insert("readPoint".into(), json!({ "id": l }));
            e.insert("bizLocation".into(), json!({ "id": l }));
        }
        e.insert(
            "bizTransactionList".into(),
            json!([{ "type": RECALL_BTT, "bizTransaction": recall_uri(recall_id) }]),
        );
        if !p.quantities.is_empty() {
            e.insert("quantityList".into(), json!(p.quantities));
        }
        if let Some(party) = &p.party {
            let (list, key) = if kind == "received" {
                ("sourceList", "source")
            } else {
                ("destinationList", "destination")
            };
            e.insert(list.into(), json!([{ "type": "owning_party", key: party }]));
        }
        events.push(Value::Object(e));
        kinds.push(kind);
        ids.push(id);
    }
    let doc = json!({
        "@context": [crate::output::EPCIS_CONTEXT],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": time,
        "epcisBody": { "eventList": events },
    });
    (doc, kinds, ids)
}

/// Capture a report in the holder's scope through the capture pipeline (rollback on any issue;
/// durable when this returns). Issues point into the report (`/returned/epcList/0`,
/// `/location`).
pub fn capture_report(
    s: &dyn Store,
    recall_id: &str,
    r: &Report,
    now_ms: i64,
    limits: &pipeline::DocumentLimits,
) -> Result<Vec<String>, ApiError> {
    let owner = OrgId::parse(&r.holder).map_err(|e| ApiError::validation("/holder", e))?;
    let (doc, kinds, ids) = report_document(recall_id, r, now_ms);
    let elimits = epcis::document::Limits {
        max_bytes: limits.bytes_max,
        max_events: limits.events_max,
        ..epcis::document::Limits::default()
    };
    let parsed = epcis::document::document_from_value(doc, &elimits)
        .map_err(|e| ApiError::from(PipelineError::from(e)))?;
    let req = CaptureRequest {
        id: pipeline::new_capture_id(now_ms),
        owner,
        now_ms,
        behaviour: ErrorBehaviour::Rollback,
        events_max: limits.events_max,
    };
    match pipeline::capture(s, &parsed, &req) {
        Ok(_) => Ok(ids),
        Err(PipelineError::Invalid(issues)) => Err(ApiError::Validation(
            issues
                .into_iter()
                .map(|i| Issue {
                    pointer: report_pointer(&i.pointer, &kinds),
                    rule: i.rule,
                })
                .collect(),
        )),
        Err(e) => Err(e.into()),
    }
}

/// `/epcisBody/eventList/1/epcList/0` -> `/returned/epcList/0`; readPoint and bizLocation ->
/// `/location`.
fn report_pointer(p: &str, kinds: &[&str]) -> String {
    let Some(rest) = p.strip_prefix("/epcisBody/eventList/") else {
        return p.to_string();
    };
    let (i, tail) = rest.split_once('/').unwrap_or((rest, ""));
    let Some(kind) = i.parse::<usize>().ok().and_then(|i| kinds.get(i)) else {
        return p.to_string();
    };
    if tail.starts_with("readPoint") || tail.starts_with("bizLocation") {
        return "/location".into();
    }
    let tail = tail
        .replace("destinationList/0/destination", "to")
        .replace("sourceList/0/source", "from");
    if tail.is_empty() {
        format!("/{kind}")
    } else {
        format!("/{kind}/{tail}")
    }
}

/// One effectiveness event, as the recall shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ReportEvent {
    pub event_id: String,
    pub holder: String,
    pub kind: &'static str,
    pub time_ms: i64,
    pub serials: usize,
    pub quantity: f64,
}

/// The figures read back from a recall's events.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Figures {
    pub returned: f64,
    pub destroyed: f64,
    pub corrected: f64,
    pub held_apart: f64,
    pub received: f64,
    /// Units recovered: each serial once (whether returned, destroyed or corrected, and however
    /// often), plus the lot quantities of returned, destroyed and corrected events.
    pub recovered: f64,
    /// Holders that reported anything.
    #[serde(skip)]
    pub reporters: BTreeSet<String>,
    pub events: Vec<ReportEvent>,
    /// True when more than [`REPORT_EVENTS_MAX`] events were found (figures are partial).
    pub truncated: bool,
}

/// Read the effectiveness events of a recall (all owners) and sum them. Only affected objects
/// count. Per kind every event counts; in `recovered` a serial counts once (a unit returned by
/// a retailer and destroyed by the firm is one unit recovered); lot quantities carry no
/// identity and are summed.
pub fn figures(s: &dyn Store, recall_id: &str, full: &RecallScope) -> Result<Figures, StoreError> {
    let q = epcis::query::EventQuery {
        eq_biz_transaction: vec![(
            epcis::index::expand_cbv(epcis::index::CbvVocab::BizTransactionType, RECALL_BTT),
            vec![gs1::normalize_id(&recall_uri(recall_id))],
        )],
        ..Default::default()
    };
    let serials: BTreeSet<&str> = full.serials.iter().map(String::as_str).collect();
    let lots: BTreeSet<&str> = full.lots.iter().map(String::as_str).collect();
    let mut f = Figures::default();
    let mut recovered: BTreeSet<String> = BTreeSet::new();
    let mut after = None;
    let mut read = 0usize;
    loop {
        let page = s.query_events(&Scope::All, &q, after.as_ref(), 1_000)?;
        for stored in &page.events {
            read += 1;
            let Ok(ev) = trace::Ev::parse(stored) else {
                continue;
            };
            let Some(kind) = kind_of(ev.biz_step.as_deref(), ev.disposition.as_deref()) else {
                continue;
            };
            let mut n_serials = 0usize;
            let mut quantity = 0.0;
            let recovering = matches!(kind, "returned" | "destroyed" | "corrected");
            for e in &ev.epcs {
                if serials.contains(e.as_str()) {
                    n_serials += 1;
                    *f.slot(kind) += 1.0;
                    if recovering && recovered.insert(e.clone()) {
                        f.recovered += 1.0;
                    }
                }
            }
            for qn in &ev.quantities {
                if lots.contains(qn.class.as_str()) {
                    let x = qn.quantity.unwrap_or(0.0);
                    quantity += x;
                    *f.slot(kind) += x;
                    if recovering {
                        f.recovered += x;
                    }
                }
            }
            if n_serials == 0 && quantity == 0.0 {
                continue;
            }
            f.reporters.insert(ev.owner.clone());
            f.events.push(ReportEvent {
                event_id: ev.id.clone(),
                holder: ev.owner.clone(),
                kind,
                time_ms: ev.time_ms,
                serials: n_serials,
                quantity,
            });
        }
        match page.next {
            Some(c) if read < REPORT_EVENTS_MAX => after = Some(c),
            Some(_) => {
                f.truncated = true;
                break;
            }
            None => break,
        }
    }
    Ok(f)
}

impl Figures {
    fn slot(&mut self, kind: &str) -> &mut f64 {
        match kind {
            "returned" => &mut self.returned,
            "destroyed" => &mut self.destroyed,
            "corrected" => &mut self.corrected,
            "received" => &mut self.received,
            _ => &mut self.held_apart,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pipeline_pointers_become_report_pointers() {
        let kinds = ["held", "returned"];
        assert_eq!(
            report_pointer("/epcisBody/eventList/1/epcList/0", &kinds),
            "/returned/epcList/0"
        );
        assert_eq!(
            report_pointer("/epcisBody/eventList/0/bizLocation/id", &kinds),
            "/location"
        );
        assert_eq!(
            report_pointer(
                "/epcisBody/eventList/1/destinationList/0/destination",
                &kinds
            ),
            "/returned/to"
        );
        assert_eq!(report_pointer("/epcisHeader", &kinds), "/epcisHeader");
    }

    #[test]
    fn every_kind_has_its_cbv_words_and_reads_back() {
        for k in KINDS {
            let (step, disp) = cbv_of(k);
            assert_eq!(kind_of(Some(step), Some(disp)), Some(k));
        }
    }
}
