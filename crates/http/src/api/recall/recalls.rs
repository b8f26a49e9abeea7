//! Recalls: open, scope (recomputed on every read), notification outbox with signed webhook
//! delivery and acknowledgement, effectiveness reports and FDA check levels, close-out, public
//! notice.
//!
//! Effectiveness: holders report what they did with the goods through
//! `POST /api/recalls/{id}/effectiveness`; each report is captured as EPCIS events in the
//! holder's own scope (see [`super::effectiveness`]), so the scope's `held` falls and the
//! figures are read back from the events. The consignees are the holders in the scope other
//! than the recalling firm; a consignee is *checked* once it acknowledged its notification or
//! reported. The FDA levels give the share of consignees to check: A 100 %, B a share between C
//! and A (`level_b_share`, default 50 %), C 10 %, D 2 %, E none. The recovered share is the units
//! returned, destroyed or corrected (each serial once) over the affected quantity (the largest
//! total quantity held across all holders seen at any read, summed over units). A recall closes
//! only when both the check share and `recovery_target` (default 0.9) are met.

use std::collections::{BTreeMap, BTreeSet};

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, Mac};
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use store::{NewRecord, Record, Role, Scope, Store, StoreError};
use trace::recall::RecallScope;

use super::effectiveness::{
    Figures, ReportEvent, capture_report, check_scope, figures, parse_report,
};
use super::masterdata::{self, Kind};
use super::{
    check_text, csv_line, json_body, parse_time, query_map, record_page, require, trace_store_err,
    typed_response,
};
use crate::auth::{MaybePrincipal, Principal};
use crate::error::ApiError;
use crate::{AppState, blocking};

pub const RECALLS: &str = "recalls";
pub const NOTIFICATIONS: &str = "recall.notifications";
/// Most targets (lots + serials + products) of one recall.
pub const TARGETS_MAX: usize = 1_000;
/// Most events scanned to find the lots and serials of product targets.
pub const PRODUCT_SCAN_MAX: usize = 200_000;

// ----- the recall record -----

fn level_share(level: &str, b_share: f64) -> f64 {
    match level {
        "A" => 1.0,
        "B" => b_share,
        "C" => 0.10,
        "D" => 0.02,
        _ => 0.0,
    }
}

fn validate_new(v: &Value, p: &Principal) -> Result<Value, ApiError> {
    let m = v
        .as_object()
        .ok_or_else(|| ApiError::validation("", "must be an object"))?;
    const ALLOWED: &[&str] = &[
        "title",
        "reason",
        "hazard",
        "classification",
        "recalling_firm",
        "depth",
        "targets",
        "effectiveness_level",
        "level_b_share",
        "recovery_target",
        "instructions",
    ];
    if let Some(k) = m.keys().find(|k| !ALLOWED.contains(&k.as_str())) {
        return Err(ApiError::validation(
            &format!("/{k}"),
            format!("unknown field; allowed: {}", ALLOWED.join(", ")),
        ));
    }
    let text = |name: &str, required: bool| -> Result<Option<String>, ApiError> {
        match m.get(name).filter(|v| !v.is_null()) {
            None if required => Err(ApiError::validation(&format!("/{name}"), "required")),
            None => Ok(None),
            Some(v) => {
                let s = v
                    .as_str()
                    .ok_or_else(|| ApiError::validation(&format!("/{name}"), "must be a string"))?;
                check_text(&format!("/{name}"), s)?;
                Ok(Some(s.to_string()))
            }
        }
    };
    let title = text("title", true)?;
    let reason = text("reason", true)?;
    let hazard = text("hazard", true)?;
    let instructions = text("instructions", false)?;
    let classification = text("classification", true)?.unwrap_or_default();
    let classification = match classification.trim_start_matches("Class ") {
        c @ ("I" | "II" | "III") => c.to_string(),
        _ => {
            return Err(ApiError::validation(
                "/classification",
                "must be I, II or III",
            ));
        }
    };
    let firm = text("recalling_firm", true)?.unwrap_or_default();
    store::OrgId::parse(&firm).map_err(|e| ApiError::validation("/recalling_firm", e))?;
    if p.role == Role::Enterprise && firm != p.org.as_str() {
        return Err(ApiError::Forbidden(
            "an enterprise may open a recall only as the recalling firm".into(),
        ));
    }
    let depth = text("depth", true)?.unwrap_or_default();
    if !["wholesale", "retail", "consumer"].contains(&depth.as_str()) {
        return Err(ApiError::validation(
            "/depth",
            "must be wholesale, retail or consumer",
        ));
    }
    // FDA's usual pairing when none is given: Class I -> A, II -> B, III -> C.
    let level = text("effectiveness_level", false)?.unwrap_or_else(|| {
        match classification.as_str() {
            "I" => "A",
            "II" => "B",
            _ => "C",
        }
        .to_string()
    });
    if !["A", "B", "C", "D", "E"].contains(&level.as_str()) {
        return Err(ApiError::validation(
            "/effectiveness_level",
            "must be A, B, C, D or E",
        ));
    }
    let share = |name: &str, default: f64, lo: f64, hi: f64| -> Result<f64, ApiError> {
        match m.get(name).filter(|v| !v.is_null()) {
            None => Ok(default),
            Some(v) => v.as_f64().filter(|x| (lo..=hi).contains(x)).ok_or_else(|| {
                ApiError::validation(
                    &format!("/{name}"),
                    format!("must be a number {lo} to {hi}"),
                )
            }),
        }
    };
    let b_share = share("level_b_share", 0.5, 0.10, 1.0)?;
    let recovery_target = share("recovery_target", 0.9, 0.0, 1.0)?;
    let t = m.get("targets").and_then(Value::as_object).ok_or_else(|| {
        ApiError::validation(
            "/targets",
            "required: an object with lots, serials, products",
        )
    })?;
    if let Some(k) = t
        .keys()
        .find(|k| !["lots", "serials", "products"].contains(&k.as_str()))
    {
        return Err(ApiError::validation(
            &format!("/targets/{k}"),
            "unknown field; allowed: lots, serials, products",
        ));
    }
    let ids = |name: &str| -> Result<Vec<String>, ApiError> {
        let Some(v) = t.get(name) else {
            return Ok(Vec::new());
        };
        let a = v.as_array().ok_or_else(|| {
            ApiError::validation(
                &format!("/targets/{name}"),
                "must be an array of identifiers",
            )
        })?;
        a.iter()
            .enumerate()
            .map(|(i, x)| {
                let p = format!("/targets/{name}/{i}");
                let s = x
                    .as_str()
                    .ok_or_else(|| ApiError::validation(&p, "must be a string"))?;
                check_text(&p, s)?;
                Ok(gs1::normalize_id(s))
            })
            .collect()
    };
    let lots = ids("lots")?;
    let serials = ids("serials")?;
    let mut products = Vec::new();
    if let Some(v) = t.get("products") {
        let a = v.as_array().ok_or_else(|| {
            ApiError::validation("/targets/products", "must be an array of {gtin, from, to}")
        })?;
        for (i, x) in a.iter().enumerate() {
            let at = format!("/targets/products/{i}");
            let g = x["gtin"]
                .as_str()
                .and_then(masterdata::gtin14)
                .ok_or_else(|| {
                    ApiError::validation(
                        &format!("{at}/gtin"),
                        "must be a GTIN with a valid check digit",
                    )
                })?;
            let tw = |name: &str| -> Result<Option<i64>, ApiError> {
                match x.get(name).and_then(Value::as_str) {
                    None => Ok(None),
                    Some(s) => parse_time(s).map(Some).ok_or_else(|| {
                        ApiError::validation(
                            &format!("{at}/{name}"),
                            "must be an RFC 3339 time or YYYY-MM-DD",
                        )
                    }),
                }
            };
            let from = tw("from")?;
            let to = tw("to")?;
            if let (Some(f), Some(t)) = (from, to)
                && f > t
            {
                return Err(ApiError::validation(
                    &format!("{at}/to"),
                    "must not be before from",
                ));
            }
            products.push(json!({ "gtin": g, "from_ms": from, "to_ms": to }));
        }
    }
    let n = lots.len() + serials.len() + products.len();
    if n == 0 {
        return Err(ApiError::validation(
            "/targets",
            "at least one lot, serial or product is required",
        ));
    }
    if n > TARGETS_MAX {
        return Err(ApiError::validation(
            "/targets",
            format!("at most {TARGETS_MAX} targets"),
        ));
    }
    Ok(json!({
        "title": title, "reason": reason, "hazard": hazard, "classification": classification,
        "recalling_firm": firm, "depth": depth, "instructions": instructions,
        "targets": { "lots": lots, "serials": serials, "products": products },
        "effectiveness_level": level, "level_b_share": b_share, "recovery_target": recovery_target,
    }))
}

/// Identifiers named by an event body (every role).
fn ids_in_event(e: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for list in ["epcList", "childEPCs", "inputEPCList", "outputEPCList"] {
        for x in e[list].as_array().into_iter().flatten() {
            if let Some(s) = x.as_str() {
                out.push(s.to_string());
            }
        }
    }
    for list in [
        "quantityList",
        "childQuantityList",
        "inputQuantityList",
        "outputQuantityList",
    ] {
        for x in e[list].as_array().into_iter().flatten() {
            if let Some(s) = x["epcClass"].as_str() {
                out.push(s.to_string());
            }
        }
    }
    if let Some(s) = e["parentID"].as_str() {
        out.push(s.to_string());
    }
    out
}

/// The start identifiers of a recall: its lots and serials, plus every lot and serial of a
/// product target seen in an event within the target's window.
fn start_ids(
    s: &dyn Store,
    scope: &Scope,
    recall: &Value,
) -> Result<(Vec<String>, bool), StoreError> {
    let t = &recall["targets"];
    let mut ids: BTreeSet<String> = BTreeSet::new();
    for list in ["lots", "serials"] {
        for x in t[list].as_array().into_iter().flatten() {
            if let Some(s) = x.as_str() {
                ids.insert(s.to_string());
            }
        }
    }
    let mut truncated = false;
    for p in t["products"].as_array().into_iter().flatten() {
        let gtin = p["gtin"].as_str().unwrap_or_default();
        let mut params: Vec<(String, String)> = Vec::new();
        if let Some(f) = p["from_ms"].as_i64() {
            params.push(("GE_eventTime".into(), crate::output::format_time_ms(f)));
        }
        if let Some(t) = p["to_ms"].as_i64() {
            params.push(("LT_eventTime".into(), crate::output::format_time_ms(t + 1)));
        }
        let q = crate::pipeline::event_query(&params).map_err(StoreError::Invalid)?;
        let mut after = None;
        let mut scanned = 0;
        loop {
            let page = s.query_events(scope, &q, after.as_ref(), 5_000)?;
            for e in &page.events {
                scanned += 1;
                let v: Value = serde_json::from_str(&e.body).unwrap_or(Value::Null);
                for id in ids_in_event(&v) {
                    if masterdata::gtin_of(&id).as_deref() == Some(gtin) {
                        ids.insert(gs1::normalize_id(&id));
                    }
                }
            }
            match page.next {
                Some(c) if scanned < PRODUCT_SCAN_MAX => after = Some(c),
                Some(_) => {
                    truncated = true;
                    break;
                }
                None => break,
            }
        }
    }
    Ok((ids.into_iter().collect(), truncated))
}

/// The scope of a recall over the events visible in `scope`.
pub fn compute_scope(
    s: &dyn Store,
    scope: &Scope,
    recall: &Value,
) -> Result<RecallScope, StoreError> {
    let (ids, truncated) = start_ids(s, scope, recall)?;
    if ids.is_empty() {
        return Ok(RecallScope {
            lots: vec![],
            serials: vec![],
            containers: vec![],
            tiers: vec![],
            truncated,
        });
    }
    let opts = trace::TraceOptions::new(trace::Direction::Forward);
    let mut sc = trace::recall_scope(s, scope, &ids, &opts).map_err(trace_store_err)?;
    sc.truncated |= truncated;
    Ok(sc)
}

/// What an enterprise sees of a scope: only its own holder entries (from the full scope, so a
/// holder that received goods from others sees what it holds), and the lots, serials and
/// containers of its own trace or that it holds. Other holders are never named.
fn restrict(full: &RecallScope, own: &RecallScope, org: &str) -> RecallScope {
    let tiers: Vec<trace::recall::TierGroup> = full
        .tiers
        .iter()
        .filter_map(|t| {
            let holders: Vec<_> = t
                .holders
                .iter()
                .filter(|h| h.organisation == org)
                .cloned()
                .collect();
            if holders.is_empty() {
                return None;
            }
            let sum = |f: fn(&trace::recall::Holder) -> &Vec<trace::recall::Amount>| {
                let mut m: BTreeMap<Option<String>, f64> = BTreeMap::new();
                for h in &holders {
                    for a in f(h) {
                        *m.entry(a.uom.clone()).or_default() += a.quantity;
                    }
                }
                m.into_iter()
                    .map(|(uom, quantity)| trace::recall::Amount { uom, quantity })
                    .collect()
            };
            Some(trace::recall::TierGroup {
                tier: t.tier,
                received: sum(|h| &h.received),
                held: sum(|h| &h.held),
                holders,
            })
        })
        .collect();
    let held: BTreeSet<&String> = tiers
        .iter()
        .flat_map(|t| t.holders.iter().flat_map(|h| h.objects_held.iter()))
        .collect();
    let pick = |all: &[String], mine: &[String]| -> Vec<String> {
        all.iter()
            .filter(|x| held.contains(x) || mine.contains(x))
            .cloned()
            .collect()
    };
    RecallScope {
        lots: pick(&full.lots, &own.lots),
        serials: pick(&full.serials, &own.serials),
        containers: pick(&full.containers, &own.containers),
        tiers,
        truncated: full.truncated || own.truncated,
    }
}

fn total(a: &[trace::recall::Amount]) -> f64 {
    a.iter().map(|x| x.quantity).sum()
}

fn notification_id(recall: &str, holder: &str) -> String {
    format!("{recall}.{holder}")
}

fn notifications_of(s: &dyn Store, recall: &str) -> Result<Vec<Record>, StoreError> {
    let prefix = format!("{recall}.");
    let mut out = Vec::new();
    let mut after = Some(prefix.clone());
    loop {
        let batch = s.list_records(&Scope::All, NOTIFICATIONS, after.as_deref(), 1_000)?;
        let Some(last) = batch.last() else { break };
        after = Some(last.id.clone());
        let mut done = false;
        for r in batch {
            if r.id.starts_with(&prefix) {
                out.push(r);
            } else {
                done = true;
                break;
            }
        }
        if done {
            break;
        }
    }
    Ok(out)
}

/// Recompute the full scope (all events), add outbox entries for new holders, raise the affected
/// quantity. Returns the stored recall (updated) and the full scope.
fn refresh(s: &dyn Store, rec: Record, now: i64) -> Result<(Record, RecallScope), StoreError> {
    let full = compute_scope(s, &Scope::All, &rec.body)?;
    let id = rec.id.clone();
    for h in full.holders() {
        let nid = notification_id(&id, &h.organisation);
        if s.get_record(&Scope::All, NOTIFICATIONS, &nid)?.is_some() {
            continue;
        }
        let body = json!({
            "recall": id, "holder": h.organisation, "status": "pending", "created_ms": now,
            "attempts": 0,
        });
        match s.put_record(
            NewRecord {
                collection: NOTIFICATIONS.into(),
                id: nid,
                owner: None,
                updated_ms: now,
                body,
            },
            Some(0),
        ) {
            Ok(_) | Err(StoreError::Conflict { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    let held: f64 = full.tiers.iter().map(|t| total(&t.held)).sum();
    let mut rec = rec;
    if rec.body["status"] == "open" && held > rec.body["affected"].as_f64().unwrap_or(0.0) {
        let mut body = rec.body.clone();
        body["affected"] = json!(held);
        match s.put_record(
            NewRecord {
                collection: RECALLS.into(),
                id: id.clone(),
                owner: None,
                updated_ms: now,
                body: body.clone(),
            },
            Some(rec.version),
        ) {
            Ok(v) => {
                rec.version = v;
                rec.body = body;
            }
            Err(StoreError::Conflict { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok((rec, full))
}

#[derive(Serialize)]
struct Effectiveness {
    level: String,
    level_share: f64,
    consignees: usize,
    checked: usize,
    checked_share: f64,
    returned: f64,
    destroyed: f64,
    corrected: f64,
    /// Set apart (bizStep `holding`), not yet returned or destroyed.
    held_apart: f64,
    /// Returns taken back (bizStep `receiving`); not counted as recovered (the unit was
    /// counted when it was returned).
    received: f64,
    recovered: f64,
    affected: f64,
    recovered_share: f64,
    recovery_target: f64,
    targets_met: bool,
    /// True when the figures were read from a partial set of events.
    truncated: bool,
}

fn effectiveness(
    recall: &Value,
    full: &RecallScope,
    notes: &[Record],
    fig: &Figures,
) -> Effectiveness {
    let firm = recall["recalling_firm"].as_str().unwrap_or_default();
    let consignees: BTreeSet<&str> = full
        .holders()
        .map(|h| h.organisation.as_str())
        .filter(|o| *o != firm)
        .collect();
    let mut checked: BTreeSet<&str> = BTreeSet::new();
    for n in notes {
        if n.body["status"] == "acknowledged"
            && let Some(h) = n.body["holder"].as_str()
            && let Some(c) = consignees.get(h)
        {
            checked.insert(c);
        }
    }
    for h in &fig.reporters {
        if let Some(c) = consignees.get(h.as_str()) {
            checked.insert(c);
        }
    }
    let level = recall["effectiveness_level"]
        .as_str()
        .unwrap_or("E")
        .to_string();
    let ls = level_share(&level, recall["level_b_share"].as_f64().unwrap_or(0.5));
    let checked_share = if consignees.is_empty() {
        1.0
    } else {
        checked.len() as f64 / consignees.len() as f64
    };
    let held_now: f64 = full.tiers.iter().map(|t| total(&t.held)).sum();
    let affected = recall["affected"].as_f64().unwrap_or(0.0).max(held_now);
    let recovered = fig.recovered;
    let recovered_share = if affected > 0.0 {
        (recovered / affected).min(1.0)
    } else {
        1.0
    };
    let target = recall["recovery_target"].as_f64().unwrap_or(0.9);
    Effectiveness {
        level,
        level_share: ls,
        consignees: consignees.len(),
        checked: checked.len(),
        checked_share,
        returned: fig.returned,
        destroyed: fig.destroyed,
        corrected: fig.corrected,
        held_apart: fig.held_apart,
        received: fig.received,
        recovered,
        affected,
        recovered_share,
        recovery_target: target,
        targets_met: checked_share + 1e-9 >= ls && recovered_share + 1e-9 >= target,
        truncated: fig.truncated,
    }
}

// ----- access -----

fn is_firm(p: &Principal, recall: &Value) -> bool {
    p.role == Role::Enterprise && recall["recalling_firm"].as_str() == Some(p.org.as_str())
}

fn is_regulator(p: &Principal) -> bool {
    matches!(p.role, Role::Regulator | Role::Admin)
}

/// Load a recall the caller may see: regulators and admins any, enterprises the ones they are
/// the recalling firm or a notified holder of. Anything else is "no such recall".
fn load_visible(s: &dyn Store, p: &Principal, id: &str) -> Result<Option<Record>, StoreError> {
    let Some(r) = s.get_record(&Scope::All, RECALLS, id)? else {
        return Ok(None);
    };
    if is_regulator(p) || is_firm(p, &r.body) {
        return Ok(Some(r));
    }
    if p.role == Role::Enterprise
        && s.get_record(
            &Scope::All,
            NOTIFICATIONS,
            &notification_id(id, p.org.as_str()),
        )?
        .is_some()
    {
        return Ok(Some(r));
    }
    Ok(None)
}

fn not_found(id: &str) -> ApiError {
    ApiError::NoSuchResource(format!("no recall {id:?}"))
}

/// The view of a recall for a caller: the scope over the caller's own events (enterprises) or
/// all events (regulators); outbox entries only the caller may see.
fn view(
    p: &Principal,
    rec: &Record,
    own: &RecallScope,
    full: &RecallScope,
    notes: &[Record],
    fig: &Figures,
) -> Value {
    let mut v = rec.body.clone();
    let visible_notes: Vec<Value> = notes
        .iter()
        .filter(|n| is_regulator(p) || n.body["holder"].as_str() == Some(p.org.as_str()))
        .map(|n| n.body.clone())
        .collect();
    v["id"] = json!(rec.id);
    v["scope"] = json!(own);
    v["notifications"] = json!(visible_notes);
    v["effectiveness"] = json!(effectiveness(&rec.body, full, notes, fig));
    // The effectiveness events: all of them for regulators and the firm, a holder's own else.
    let reports: Vec<&ReportEvent> = fig
        .events
        .iter()
        .filter(|e| is_regulator(p) || is_firm(p, &rec.body) || e.holder == p.org.as_str())
        .collect();
    v["reports"] = json!(reports);
    v
}

async fn read_view(
    state: &AppState,
    p: Principal,
    id: String,
) -> Result<(Value, RecallScope), ApiError> {
    let now = state.now_ms();
    let pp = p.clone();
    let out = blocking(state, move |s| {
        let Some(rec) = load_visible(s, &pp, &id)? else {
            return Ok(None);
        };
        let (rec, full) = refresh(s, rec, now)?;
        let own = if is_regulator(&pp) {
            full.clone()
        } else {
            restrict(
                &full,
                &compute_scope(s, &pp.scope(), &rec.body)?,
                pp.org.as_str(),
            )
        };
        let notes = notifications_of(s, &rec.id)?;
        let fig = figures(s, &rec.id, &full)?;
        Ok(Some((view(&pp, &rec, &own, &full, &notes, &fig), own)))
    })
    .await?;
    out.ok_or_else(|| ApiError::NoSuchResource("no such recall".into()))
}

// ----- handlers -----

pub(super) async fn create(
    State(state): State<AppState>,
    p: Principal,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    require(&p, &[Role::Regulator, Role::Enterprise], "open a recall")?;
    let v = json_body(&headers, body).await?;
    let mut recall = validate_new(&v, &p)?;
    let now = state.now_ms();
    let digest = Sha256::digest(format!("{now}|{}|{}", p.key_id, v).as_bytes());
    let id = format!("rcl-{now}-{}", &hex::encode(digest)[..8]);
    recall["status"] = json!("open");
    recall["published"] = json!(false);
    recall["opened_ms"] = json!(now);
    recall["opened_by"] = json!(p.org.as_str());
    recall["affected"] = json!(0.0);
    let id2 = id.clone();
    blocking(&state, move |s| {
        s.put_record(
            NewRecord {
                collection: RECALLS.into(),
                id: id2,
                owner: None,
                updated_ms: now,
                body: recall,
            },
            Some(0),
        )
    })
    .await?;
    let (v, _) = read_view(&state, p, id.clone()).await?;
    let mut resp = (StatusCode::CREATED, axum::Json(v)).into_response();
    if let Ok(h) = format!("/api/recalls/{id}").parse() {
        resp.headers_mut().insert(axum::http::header::LOCATION, h);
    }
    Ok(resp)
}

pub(super) async fn get_one(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let (v, _) = read_view(&state, p, id).await?;
    Ok(axum::Json(v).into_response())
}

pub(super) async fn list(
    State(state): State<AppState>,
    p: Principal,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    require(
        &p,
        &[Role::Regulator, Role::Admin, Role::Enterprise],
        "list recalls",
    )?;
    let q = query_map(&state, raw.as_deref(), &["perPage", "nextPageToken"])?;
    let pp = p.clone();
    let keep: std::sync::Arc<super::Keep> = std::sync::Arc::new(move |s, r| {
        if !(is_regulator(&pp) || is_firm(&pp, &r.body) || load_visible(s, &pp, &r.id)?.is_some()) {
            return Ok(None);
        }
        Ok(Some(json!({
            "id": r.id, "title": r.body["title"], "classification": r.body["classification"],
            "status": r.body["status"], "recalling_firm": r.body["recalling_firm"],
            "opened_ms": r.body["opened_ms"], "published": r.body["published"],
        })))
    });
    let mut page = record_page(&state, &p, "/api/recalls", q, RECALLS, keep).await?;
    let mut resp = axum::Json(Value::Array(std::mem::take(&mut page.items))).into_response();
    page.headers(&mut resp);
    Ok(resp)
}

fn amounts_text(a: &[trace::recall::Amount]) -> String {
    a.iter()
        .map(|x| match &x.uom {
            Some(u) => format!("{} {u}", x.quantity),
            None => format!("{}", x.quantity),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The scope as CSV: one row per holder.
pub fn scope_csv_text(sc: &RecallScope) -> String {
    let mut out = csv_line(
        &[
            "tier",
            "organisation",
            "location",
            "received",
            "held",
            "objects_held",
        ]
        .map(String::from),
    );
    for h in sc.holders() {
        out.push_str(&csv_line(&[
            h.tier.to_string(),
            h.organisation.clone(),
            h.location.clone().unwrap_or_default(),
            amounts_text(&h.received),
            amounts_text(&h.held),
            h.objects_held.join(" "),
        ]));
    }
    out
}

pub(super) async fn scope_csv(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let (_, own) = read_view(&state, p, id).await?;
    Ok(typed_response(
        "text/csv; charset=utf-8",
        scope_csv_text(&own),
    ))
}

pub(super) async fn notifications(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let (v, _) = read_view(&state, p, id).await?;
    Ok(axum::Json(v["notifications"].clone()).into_response())
}

pub(super) async fn ack(
    State(state): State<AppState>,
    p: Principal,
    Path((id, holder)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    if p.role != Role::Enterprise || p.org.as_str() != holder {
        return Err(ApiError::Forbidden(
            "only the holder's own key may acknowledge its notification".into(),
        ));
    }
    let now = state.now_ms();
    let out = blocking(&state, move |s| {
        let nid = notification_id(&id, &holder);
        for _ in 0..5 {
            let Some(r) = s.get_record(&Scope::All, NOTIFICATIONS, &nid)? else {
                return Ok(None);
            };
            let mut body = r.body.clone();
            if body["status"] == "acknowledged" {
                return Ok(Some(body));
            }
            body["status"] = json!("acknowledged");
            body["acknowledged_ms"] = json!(now);
            match s.put_record(
                NewRecord {
                    collection: NOTIFICATIONS.into(),
                    id: nid.clone(),
                    owner: None,
                    updated_ms: now,
                    body: body.clone(),
                },
                Some(r.version),
            ) {
                Ok(_) => return Ok(Some(body)),
                Err(StoreError::Conflict { .. }) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Backend(
            "acknowledgement kept conflicting".into(),
        ))
    })
    .await?;
    out.map(|b| axum::Json(b).into_response())
        .ok_or_else(|| ApiError::NoSuchResource("no such notification".into()))
}

/// Update a visible recall with `f` (optimistic concurrency, retried).
async fn update(
    state: &AppState,
    p: Principal,
    id: String,
    f: impl Fn(&Principal, &mut Value, &Effectiveness) -> Result<(), ApiError> + Send + 'static,
) -> Result<Value, ApiError> {
    let now = state.now_ms();
    blocking(state, move |s| {
        for _ in 0..5 {
            let Some(rec) = load_visible(s, &p, &id)? else {
                return Ok(Err(not_found(&id)));
            };
            let (rec, full) = refresh(s, rec, now)?;
            let notes = notifications_of(s, &rec.id)?;
            let fig = figures(s, &rec.id, &full)?;
            let eff = effectiveness(&rec.body, &full, &notes, &fig);
            let mut body = rec.body.clone();
            if let Err(e) = f(&p, &mut body, &eff) {
                return Ok(Err(e));
            }
            match s.put_record(
                NewRecord {
                    collection: RECALLS.into(),
                    id: id.clone(),
                    owner: None,
                    updated_ms: now,
                    body: body.clone(),
                },
                Some(rec.version),
            ) {
                Ok(_) => {
                    let eff = effectiveness(&body, &full, &notes, &fig);
                    let mut out = body;
                    out["id"] = json!(id);
                    out["effectiveness"] = json!(eff);
                    return Ok(Ok(out));
                }
                Err(StoreError::Conflict { .. }) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Backend("recall update kept conflicting".into()))
    })
    .await?
}

/// A holder reports what it did with recalled goods: the report is captured as EPCIS events in
/// the holder's own scope (see [`super::effectiveness`]); only the holder's own key may report.
pub(super) async fn effectiveness_post(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let v = json_body(&headers, body).await?;
    let mut report = parse_report(&v, p.org.as_str())?;
    if p.role != Role::Enterprise || p.org.as_str() != report.holder {
        return Err(ApiError::Forbidden(
            "only the holder's own key may report: the report is captured as EPCIS events in the holder's record".into(),
        ));
    }
    let now = state.now_ms();
    let limits = state.document_limits();
    let pp = p.clone();
    let id2 = id.clone();
    let captured = blocking(&state, move |s| {
        let Some(rec) = load_visible(s, &pp, &id2)? else {
            return Ok(Err(not_found(&id2)));
        };
        if rec.body["status"] != "open" {
            return Ok(Err(ApiError::validation("/status", "the recall is closed")));
        }
        let full = compute_scope(s, &Scope::All, &rec.body)?;
        if let Err(e) = check_scope(&mut report, &full) {
            return Ok(Err(e));
        }
        Ok(capture_report(s, &id2, &report, now, &limits))
    })
    .await??;
    let (mut out, _) = read_view(&state, p, id).await?;
    out["captured"] = json!(captured);
    Ok((StatusCode::CREATED, axum::Json(out)).into_response())
}

pub(super) async fn close(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let now = state.now_ms();
    let out = update(&state, p, id, move |p, body, eff| {
        if p.role != Role::Regulator && !is_firm(p, body) {
            return Err(ApiError::Forbidden("only a regulator or the recalling firm may close a recall".into()));
        }
        if body["status"] != "open" {
            return Err(ApiError::validation("/status", "the recall is already closed"));
        }
        if !eff.targets_met {
            return Err(ApiError::validation(
                "/effectiveness",
                format!(
                    "targets not met: checked {:.1} % of consignees (level {} needs {:.1} %), recovered {:.1} % (target {:.1} %)",
                    eff.checked_share * 100.0, eff.level, eff.level_share * 100.0,
                    eff.recovered_share * 100.0, eff.recovery_target * 100.0
                ),
            ));
        }
        body["status"] = json!("closed");
        body["closed_ms"] = json!(now);
        Ok(())
    })
    .await?;
    Ok(axum::Json(out).into_response())
}

pub(super) async fn publish(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let out = update(&state, p, id, move |p, body, _| {
        if p.role != Role::Regulator && !is_firm(p, body) {
            return Err(ApiError::Forbidden(
                "only a regulator or the recalling firm may publish".into(),
            ));
        }
        body["published"] = json!(true);
        Ok(())
    })
    .await?;
    Ok(axum::Json(out).into_response())
}

fn what_to_do(depth: &str) -> &'static str {
    match depth {
        "consumer" => {
            "Do not use or eat this product. Return it to the place of purchase for a refund, or throw it away."
        }
        "retail" => {
            "Retailers: remove this product from sale at once, hold it apart and contact the recalling firm."
        }
        _ => {
            "Distributors: stop shipping this product, hold your stock apart and contact the recalling firm."
        }
    }
}

/// The public notice: product, lots, hazard, what to do. No holder is named.
pub(super) async fn notice(
    State(state): State<AppState>,
    MaybePrincipal(p): MaybePrincipal,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let out = blocking(&state, move |s| {
        let Some(rec) = s.get_record(&Scope::All, RECALLS, &id)? else { return Ok(None) };
        let allowed = rec.body["published"] == true
            || p.as_ref().is_some_and(|p| load_visible(s, p, &id).ok().flatten().is_some());
        if !allowed {
            return Ok(None);
        }
        let full = compute_scope(s, &Scope::All, &rec.body)?;
        let b = &rec.body;
        let mut lots: BTreeSet<String> = full.lots.iter().cloned().collect();
        for l in b["targets"]["lots"].as_array().into_iter().flatten() {
            if let Some(l) = l.as_str() {
                lots.insert(l.to_string());
            }
        }
        let mut gtins: BTreeSet<String> = lots.iter().chain(full.serials.iter()).filter_map(|i| masterdata::gtin_of(i)).collect();
        for pr in b["targets"]["products"].as_array().into_iter().flatten() {
            if let Some(g) = pr["gtin"].as_str() {
                gtins.insert(g.to_string());
            }
        }
        let mut products = Vec::new();
        for g in gtins {
            let md = masterdata::lookup(s, Kind::Products, &g)?;
            products.push(json!({
                "gtin": g,
                "name": md.as_ref().and_then(|m| m["name"].as_str().map(str::to_string)),
                "brand": md.as_ref().and_then(|m| m["brand"].as_str().map(str::to_string)),
            }));
        }
        let firm = b["recalling_firm"].as_str().unwrap_or_default();
        let firm_name = masterdata::lookup(s, Kind::Organisations, firm)?
            .and_then(|m| m["name"].as_str().map(str::to_string))
            .unwrap_or_else(|| firm.to_string());
        let depth = b["depth"].as_str().unwrap_or("consumer");
        Ok(Some(json!({
            "id": rec.id, "title": b["title"], "status": b["status"], "classification": b["classification"],
            "recalling_firm": firm_name, "reason": b["reason"], "hazard": b["hazard"],
            "products": products, "lots": lots, "serials": full.serials.len(),
            "what_to_do": b["instructions"].as_str().unwrap_or(what_to_do(depth)),
            "published": b["published"], "opened": crate::output::format_time_ms(b["opened_ms"].as_i64().unwrap_or(0)),
        })))
    })
    .await?;
    out.map(|v| axum::Json(v).into_response())
        .ok_or_else(|| ApiError::NoSuchResource("no such published recall notice".into()))
}

// ----- delivery -----

/// Sends one webhook request; the real HTTP client lives behind this trait.
pub trait WebhookSender: Send + Sync {
    /// POST `body` to `url` with `headers`; the HTTP status, or an error text.
    fn send(&self, url: &str, headers: &[(String, String)], body: &[u8]) -> Result<u16, String>;
}

/// What one delivery round did.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct DeliveryReport {
    pub sent: usize,
    pub failed: usize,
    /// Pending entries whose holder has no `webhook_url` and `webhook_secret` in master data.
    pub skipped: usize,
}

/// `sha256=<hex HMAC-SHA256 of the body>`: the value of `X-Zhiliang-Signature`.
pub fn sign_payload(secret: &[u8], body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Most delivery attempts per outbox entry.
pub const ATTEMPTS_MAX: u64 = 10;
/// Wait after the first failed attempt of an entry; doubled after each further failure.
pub const RETRY_FIRST_MS: i64 = 30_000;
/// Longest wait between two attempts of one entry.
pub const RETRY_MAX_MS: i64 = 6 * 3_600_000;

/// When an entry that failed `attempts` times may be tried again.
pub fn next_attempt_ms(now_ms: i64, attempts: u64) -> i64 {
    let shift = attempts.saturating_sub(1).min(20) as u32;
    now_ms.saturating_add((RETRY_FIRST_MS << shift).min(RETRY_MAX_MS))
}

/// Recompute the scope of every open recall (new holders get an outbox entry), then send every
/// pending notification whose holder has a webhook in master data; mark it `sent` on a 2xx
/// answer, count the attempt otherwise (at most [`ATTEMPTS_MAX`]) and do not try it again
/// before `next_attempt_ms` (exponential backoff, [`next_attempt_ms`]).
pub fn deliver_pending(
    s: &dyn Store,
    sender: &dyn WebhookSender,
    now_ms: i64,
) -> Result<DeliveryReport, StoreError> {
    let mut report = DeliveryReport::default();
    // Goods found since the last read: recompute every open recall so new holders get an entry.
    let mut after: Option<String> = None;
    loop {
        let batch = s.list_records(&Scope::All, RECALLS, after.as_deref(), 500)?;
        let Some(last) = batch.last() else { break };
        after = Some(last.id.clone());
        for r in batch {
            if r.body["status"] == "open" {
                refresh(s, r, now_ms)?;
            }
        }
    }
    let mut after: Option<String> = None;
    loop {
        let batch = s.list_records(&Scope::All, NOTIFICATIONS, after.as_deref(), 500)?;
        let Some(last) = batch.last() else { break };
        after = Some(last.id.clone());
        for n in batch {
            if n.body["status"] != "pending"
                || n.body["attempts"].as_u64().unwrap_or(0) >= ATTEMPTS_MAX
                || n.body["next_attempt_ms"]
                    .as_i64()
                    .is_some_and(|t| t > now_ms)
            {
                continue;
            }
            let holder = n.body["holder"].as_str().unwrap_or_default();
            let recall_id = n.body["recall"].as_str().unwrap_or_default();
            let org = masterdata::lookup(s, Kind::Organisations, holder)?;
            let (Some(url), Some(secret)) = (
                org.as_ref().and_then(|o| o["webhook_url"].as_str()),
                org.as_ref().and_then(|o| o["webhook_secret"].as_str()),
            ) else {
                report.skipped += 1;
                continue;
            };
            let Some(recall) = s.get_record(&Scope::All, RECALLS, recall_id)? else {
                continue;
            };
            let holder_scope =
                Scope::org(store::OrgId::parse(holder).map_err(StoreError::Invalid)?);
            let own = compute_scope(s, &holder_scope, &recall.body)?;
            let held: Vec<_> = own
                .holders()
                .filter(|h| h.organisation == holder)
                .cloned()
                .collect();
            let payload = json!({
                "type": "recall.notification",
                "recall": recall_id, "holder": holder,
                "title": recall.body["title"], "hazard": recall.body["hazard"],
                "classification": recall.body["classification"], "depth": recall.body["depth"],
                "lots": own.lots, "serials": own.serials, "your_holdings": held,
                "acknowledge": format!("/api/recalls/{recall_id}/notifications/{holder}/ack"),
            });
            let bytes =
                serde_json::to_vec(&payload).map_err(|e| StoreError::Backend(e.to_string()))?;
            let headers = vec![
                ("Content-Type".to_string(), "application/json".to_string()),
                (
                    "X-Zhiliang-Signature".to_string(),
                    sign_payload(secret.as_bytes(), &bytes),
                ),
            ];
            let mut body = n.body.clone();
            let attempts = n.body["attempts"].as_u64().unwrap_or(0) + 1;
            body["attempts"] = json!(attempts);
            match sender.send(url, &headers, &bytes) {
                Ok(code) if (200..300).contains(&code) => {
                    body["status"] = json!("sent");
                    body["sent_ms"] = json!(now_ms);
                    report.sent += 1;
                }
                Ok(code) => {
                    body["last_error"] = json!(format!("HTTP {code}"));
                    body["next_attempt_ms"] = json!(next_attempt_ms(now_ms, attempts));
                    report.failed += 1;
                }
                Err(e) => {
                    body["last_error"] = json!(e.chars().take(200).collect::<String>());
                    body["next_attempt_ms"] = json!(next_attempt_ms(now_ms, attempts));
                    report.failed += 1;
                }
            }
            match s.put_record(
                NewRecord {
                    collection: NOTIFICATIONS.into(),
                    id: n.id.clone(),
                    owner: None,
                    updated_ms: now_ms,
                    body,
                },
                Some(n.version),
            ) {
                // An acknowledgement raced the delivery: it wins.
                Ok(_) | Err(StoreError::Conflict { .. }) => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(report)
}
