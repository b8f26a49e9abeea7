//! FSMA 204 records request: the electronic sortable spreadsheet, one row per Critical Tracking
//! Event of a traceability lot with its Key Data Elements, as CSV or XLSX.
//!
//! Which events: every event naming the lot (any role), and every shipping or receiving event of
//! a container the lot was aggregated into. Which CTE, from the CBV bizStep as GS1 US "EPCIS
//! Recommendations for FSMA 204 CTEs" R2.0 models them:
//! - `harvesting`, or an ObjectEvent ADD `creating_class_instance`/`commissioning` without
//!   seafood catch ILMD: Harvesting; with catch ILMD (`catchZone`, `fishType`, landing data):
//!   First land-based receiving;
//! - `other`, `holding` or `storing` with a temperature sensor report: Cooling;
//! - a TransformationEvent (or bizStep `transforming`): Initial packing when an input lot was
//!   harvested (a Harvesting CTE names it), Transformation otherwise;
//! - `shipping`/`departing`: Shipping; `receiving`/`arriving`/`accepting`: Receiving.
//!
//! Other events (transporting, packing aggregations, observations) are not CTEs and give no row.

use std::collections::{BTreeMap, BTreeSet};

use axum::extract::{RawQuery, State};
use axum::response::Response;
use serde::Serialize;
use serde_json::Value;
use store::{Role, Scope, Store, StoreError, StoredEvent};
use trace::bare_cbv;

use super::masterdata::{self, Kind};
use super::{csv_line, q_time, query_map, require, typed_response};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::{AppState, blocking};

/// Most events read for one records request.
pub const EVENTS_MAX: usize = 200_000;
/// Most containers followed.
const CONTAINERS_MAX: usize = 5_000;

#[derive(Debug, thiserror::Error)]
pub enum FsmaError {
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("lot: {0}")]
    BadLot(String),
    #[error("xlsx: {0}")]
    Xlsx(String),
    #[error("the lot reaches more than {EVENTS_MAX} events; narrow the window")]
    TooMany,
}

/// The spreadsheet columns, in order.
pub const FSMA_COLUMNS: &[&str] = &[
    "Critical Tracking Event",
    "Event Date",
    "Traceability Lot Code",
    "Lot Role",
    "Product Description",
    "Quantity",
    "Unit of Measure",
    "Traceability Lot Code Source",
    "Location",
    "Ship From",
    "Ship To",
    "Reference Document Type",
    "Reference Document Number",
    "Container",
    "Event ID",
    "Recorded By",
];

/// One row: a CTE with its KDEs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CteRow {
    pub cte: String,
    pub event_time_ms: i64,
    pub event_date: String,
    pub tlc: String,
    pub lot_role: String,
    pub product: String,
    pub quantity: Option<f64>,
    pub uom: String,
    pub tlc_source: String,
    pub location: String,
    pub ship_from: String,
    pub ship_to: String,
    pub ref_doc_types: String,
    pub ref_doc_numbers: String,
    pub container: String,
    pub event_id: String,
    pub recorded_by: String,
}

impl CteRow {
    fn cells(&self) -> Vec<String> {
        vec![
            self.cte.clone(),
            self.event_date.clone(),
            self.tlc.clone(),
            self.lot_role.clone(),
            self.product.clone(),
            self.quantity.map(|q| q.to_string()).unwrap_or_default(),
            self.uom.clone(),
            self.tlc_source.clone(),
            self.location.clone(),
            self.ship_from.clone(),
            self.ship_to.clone(),
            self.ref_doc_types.clone(),
            self.ref_doc_numbers.clone(),
            self.container.clone(),
            self.event_id.clone(),
            self.recorded_by.clone(),
        ]
    }
}

struct Loaded {
    stored: StoredEvent,
    v: Value,
}

fn bare(v: &Value) -> String {
    v.as_str().map(bare_cbv).unwrap_or_default()
}

fn norm_eq(a: &str, b: &str) -> bool {
    gs1::normalize_id(a) == b
}

/// The quantity entry of `lot` in `list` of an event.
fn qty_in(v: &Value, list: &str, lot: &str) -> Option<(Option<f64>, String)> {
    v[list].as_array()?.iter().find_map(|q| {
        let c = q["epcClass"].as_str()?;
        norm_eq(c, lot).then(|| {
            (
                q["quantity"].as_f64(),
                q["uom"].as_str().unwrap_or("").to_string(),
            )
        })
    })
}

fn names_in(v: &Value, list: &str, id: &str) -> bool {
    v[list]
        .as_array()
        .is_some_and(|a| a.iter().any(|x| x.as_str().is_some_and(|s| norm_eq(s, id))))
}

/// How the event names the lot: role and quantity.
fn lot_role(v: &Value, lot: &str) -> Option<(&'static str, Option<f64>, String)> {
    for (list, role) in [
        ("quantityList", "object"),
        ("outputQuantityList", "output"),
        ("inputQuantityList", "input"),
        ("childQuantityList", "child"),
    ] {
        if let Some((q, u)) = qty_in(v, list, lot) {
            return Some((role, q, u));
        }
    }
    for (list, role) in [
        ("epcList", "object"),
        ("outputEPCList", "output"),
        ("inputEPCList", "input"),
        ("childEPCs", "child"),
    ] {
        if names_in(v, list, lot) {
            return Some((role, Some(1.0), String::new()));
        }
    }
    if v["parentID"].as_str().is_some_and(|p| norm_eq(p, lot)) {
        return Some(("parent", None, String::new()));
    }
    None
}

fn has_catch_ilmd(v: &Value) -> bool {
    v["ilmd"].as_object().is_some_and(|m| {
        m.keys().any(|k| {
            let k = k.to_ascii_lowercase();
            k.contains("catchzone")
                || k.contains("fishtype")
                || k.contains("landing")
                || k.contains("vesselcatch")
        })
    })
}

fn has_temperature(v: &Value) -> bool {
    v["sensorElementList"].as_array().is_some_and(|a| {
        a.iter().any(|s| {
            s["sensorReport"].as_array().is_some_and(|r| {
                r.iter().any(|x| {
                    x["type"]
                        .as_str()
                        .is_some_and(|t| t.to_ascii_lowercase().contains("temperature"))
                })
            })
        })
    })
}

fn is_creation(v: &Value) -> bool {
    v["type"] == "ObjectEvent"
        && v["action"] == "ADD"
        && matches!(
            bare(&v["bizStep"]).as_str(),
            "creating_class_instance" | "commissioning" | "harvesting"
        )
}

/// The CTE of an event (`harvested`: lots named by a Harvesting CTE).
fn cte_of(v: &Value, harvested: &BTreeSet<String>) -> Option<&'static str> {
    let step = bare(&v["bizStep"]);
    if step == "harvesting" {
        return Some("Harvesting");
    }
    if is_creation(v) {
        return Some(if has_catch_ilmd(v) {
            "First Land-Based Receiving"
        } else {
            "Harvesting"
        });
    }
    if v["type"] == "TransformationEvent" || step == "transforming" {
        let from_harvest = v["inputQuantityList"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|q| q["epcClass"].as_str())
            .chain(
                v["inputEPCList"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str),
            )
            .any(|i| harvested.contains(&gs1::normalize_id(i)));
        return Some(if from_harvest {
            "Initial Packing"
        } else {
            "Transformation"
        });
    }
    match step.as_str() {
        "shipping" | "departing" => Some("Shipping"),
        "receiving" | "arriving" | "accepting" => Some("Receiving"),
        "other" | "holding" | "storing" | "cooling" if has_temperature(v) => Some("Cooling"),
        _ => None,
    }
}

fn party(v: &Value, list: &str, key: &str) -> String {
    let a = v[list].as_array();
    let pick = |ty: &str| {
        a.into_iter().flatten().find_map(|x| {
            (bare(&x["type"]) == ty)
                .then(|| x[key].as_str().map(str::to_string))
                .flatten()
        })
    };
    pick("location")
        .or_else(|| pick("owning_party"))
        .or_else(|| pick("possessing_party"))
        .unwrap_or_default()
}

fn location_of(v: &Value) -> String {
    v["bizLocation"]["id"]
        .as_str()
        .or_else(|| v["readPoint"]["id"].as_str())
        .unwrap_or("")
        .to_string()
}

fn load(
    s: &dyn Store,
    scope: &Scope,
    ids: &[String],
    into: &mut BTreeMap<i64, Loaded>,
) -> Result<(), FsmaError> {
    for chunk in ids.chunks(1_000) {
        for e in s.events_touching(scope, chunk)? {
            if into.len() >= EVENTS_MAX {
                return Err(FsmaError::TooMany);
            }
            if into.contains_key(&e.seq) {
                continue;
            }
            let v: Value = serde_json::from_str(&e.body).unwrap_or(Value::Null);
            into.insert(e.seq, Loaded { stored: e, v });
        }
    }
    Ok(())
}

/// The rows of the records request for `lot` within `[from_ms, to_ms]`, over the events visible
/// in `scope`, in time order.
pub fn fsma_rows(
    s: &dyn Store,
    scope: &Scope,
    lot: &str,
    from_ms: Option<i64>,
    to_ms: Option<i64>,
) -> Result<Vec<CteRow>, FsmaError> {
    let lot_raw = lot.trim();
    if lot_raw.is_empty() || lot_raw.len() > 2048 {
        return Err(FsmaError::BadLot("must be 1 to 2048 bytes".into()));
    }
    let lot = gs1::normalize_id(lot_raw);
    let mut events: BTreeMap<i64, Loaded> = BTreeMap::new();
    load(s, scope, std::slice::from_ref(&lot), &mut events)?;
    // Containers the lot went into, and the inputs of transformations (for harvest lineage).
    let mut containers: BTreeSet<String> = BTreeSet::new();
    let mut inputs: BTreeSet<String> = BTreeSet::new();
    for e in events.values() {
        let v = &e.v;
        if v["type"] == "AggregationEvent"
            && v["action"] != "DELETE"
            && let Some(p) = v["parentID"].as_str()
            && matches!(lot_role(v, &lot), Some(("child", ..)))
        {
            containers.insert(gs1::normalize_id(p));
        }
        if v["type"] == "TransformationEvent" {
            for q in v["inputQuantityList"].as_array().into_iter().flatten() {
                if let Some(c) = q["epcClass"].as_str() {
                    inputs.insert(gs1::normalize_id(c));
                }
            }
        }
    }
    let containers: Vec<String> = containers.into_iter().take(CONTAINERS_MAX).collect();
    let mut extra: BTreeMap<i64, Loaded> = BTreeMap::new();
    load(s, scope, &containers, &mut extra)?;
    let mut lineage: BTreeMap<i64, Loaded> = BTreeMap::new();
    let inputs: Vec<String> = inputs
        .into_iter()
        .filter(|i| *i != lot)
        .take(CONTAINERS_MAX)
        .collect();
    load(s, scope, &inputs, &mut lineage)?;
    let mut harvested: BTreeSet<String> = BTreeSet::new();
    for e in events.values().chain(lineage.values()) {
        if is_creation(&e.v) && !has_catch_ilmd(&e.v) || bare(&e.v["bizStep"]) == "harvesting" {
            for q in e.v["quantityList"].as_array().into_iter().flatten() {
                if let Some(c) = q["epcClass"].as_str() {
                    harvested.insert(gs1::normalize_id(c));
                }
            }
        }
    }
    // The TLC source: where the lot was created (harvest, landing, transformation output).
    let mut tlc_source = String::new();
    for e in events.values() {
        let creates = is_creation(&e.v) && qty_in(&e.v, "quantityList", &lot).is_some()
            || qty_in(&e.v, "outputQuantityList", &lot).is_some()
            || names_in(&e.v, "outputEPCList", &lot);
        if creates {
            tlc_source = location_of(&e.v);
            break;
        }
    }
    let product = match masterdata::gtin_of(&lot) {
        Some(g) => masterdata::lookup(s, Kind::Products, &g)?
            .and_then(|m| m["name"].as_str().map(str::to_string))
            .unwrap_or_default(),
        None => String::new(),
    };
    let in_window = |t: i64| from_ms.is_none_or(|f| t >= f) && to_ms.is_none_or(|x| t <= x);
    let mut rows = Vec::new();
    let mut seen: BTreeSet<i64> = BTreeSet::new();
    let direct = events.values().map(|e| (e, None));
    let via = extra.values().map(|e| (e, Some(())));
    for (e, through) in direct.chain(via) {
        if !seen.insert(e.stored.seq) || !in_window(e.stored.event_time_ms) {
            continue;
        }
        let v = &e.v;
        let Some(cte) = cte_of(v, &harvested) else {
            continue;
        };
        let (role, quantity, uom, container) = match through {
            None => match lot_role(v, &lot) {
                Some((r, q, u)) => (r.to_string(), q, u, String::new()),
                None => continue,
            },
            Some(()) => {
                if !matches!(cte, "Shipping" | "Receiving") {
                    continue;
                }
                // The lot's quantity in the container: from the aggregation that packed it.
                let c = containers
                    .iter()
                    .find(|c| {
                        names_in(v, "epcList", c)
                            || v["parentID"].as_str().is_some_and(|p| norm_eq(p, c))
                    })
                    .cloned()
                    .unwrap_or_default();
                let packed = events.values().find_map(|a| {
                    (a.v["type"] == "AggregationEvent"
                        && a.v["parentID"].as_str().is_some_and(|p| norm_eq(p, &c)))
                    .then(|| qty_in(&a.v, "childQuantityList", &lot))
                    .flatten()
                });
                let (q, u) = packed.unwrap_or((None, String::new()));
                ("in container".to_string(), q, u, c)
            }
        };
        let mut types = Vec::new();
        let mut numbers = Vec::new();
        for b in v["bizTransactionList"].as_array().into_iter().flatten() {
            types.push(bare(&b["type"]));
            numbers.push(b["bizTransaction"].as_str().unwrap_or("").to_string());
        }
        rows.push(CteRow {
            cte: cte.to_string(),
            event_time_ms: e.stored.event_time_ms,
            event_date: v["eventTime"]
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| crate::output::format_time_ms(e.stored.event_time_ms)),
            tlc: lot_raw.to_string(),
            lot_role: role,
            product: product.clone(),
            quantity,
            uom,
            tlc_source: tlc_source.clone(),
            location: location_of(v),
            ship_from: party(v, "sourceList", "source"),
            ship_to: party(v, "destinationList", "destination"),
            ref_doc_types: types.join("; "),
            ref_doc_numbers: numbers.join("; "),
            container,
            event_id: e.stored.event_id.clone(),
            recorded_by: e.stored.owner.as_str().to_string(),
        });
    }
    rows.sort_by(|a, b| {
        a.event_time_ms
            .cmp(&b.event_time_ms)
            .then_with(|| a.event_id.cmp(&b.event_id))
    });
    Ok(rows)
}

/// CSV with a header row.
pub fn rows_csv(rows: &[CteRow]) -> String {
    let mut out = csv_line(
        &FSMA_COLUMNS
            .iter()
            .map(|c| c.to_string())
            .collect::<Vec<_>>(),
    );
    for r in rows {
        out.push_str(&csv_line(&r.cells()));
    }
    out
}

/// An XLSX workbook: one sheet, a bold header row, an autofilter (sortable), quantities as numbers.
pub fn rows_xlsx(rows: &[CteRow]) -> Result<Vec<u8>, FsmaError> {
    use rust_xlsxwriter::{Format, Workbook};
    let x = |e: rust_xlsxwriter::XlsxError| FsmaError::Xlsx(e.to_string());
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("FSMA 204").map_err(x)?;
    let bold = Format::new().set_bold();
    for (c, h) in FSMA_COLUMNS.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *h, &bold)
            .map_err(x)?;
    }
    for (i, r) in rows.iter().enumerate() {
        let row = (i + 1) as u32;
        for (c, cell) in r.cells().into_iter().enumerate() {
            if c == 5
                && let Some(q) = r.quantity
            {
                ws.write_number(row, c as u16, q).map_err(x)?;
            } else {
                ws.write_string(row, c as u16, cell).map_err(x)?;
            }
        }
    }
    ws.autofilter(0, 0, rows.len() as u32, (FSMA_COLUMNS.len() - 1) as u16)
        .map_err(x)?;
    wb.save_to_buffer().map_err(x)
}

/// End of the day when `to` is a bare date.
fn end_of(raw: Option<&String>, ms: Option<i64>) -> Option<i64> {
    match (raw, ms) {
        (Some(r), Some(m)) if r.len() == 10 => Some(m + 86_399_999),
        (_, m) => m,
    }
}

pub(super) async fn get(
    State(state): State<AppState>,
    p: Principal,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    require(
        &p,
        &[Role::Regulator, Role::Admin, Role::Enterprise],
        "request FSMA 204 records",
    )?;
    let q = query_map(&state, raw.as_deref(), &["lot", "from", "to", "format"])?;
    let lot = q
        .get("lot")
        .cloned()
        .ok_or_else(|| ApiError::QueryParameter("lot: required".into()))?;
    let from = q_time(&q, "from")?;
    let to = end_of(q.get("to"), q_time(&q, "to")?);
    if let (Some(f), Some(t)) = (from, to)
        && f > t
    {
        return Err(ApiError::QueryParameter(
            "to: must not be before from".into(),
        ));
    }
    let xlsx = match q.get("format").map(String::as_str) {
        None | Some("csv") => false,
        Some("xlsx") => true,
        Some(_) => {
            return Err(ApiError::QueryParameter(
                "format: must be csv or xlsx".into(),
            ));
        }
    };
    let scope = p.scope();
    let rows = blocking(&state, move |s| Ok(fsma_rows(s, &scope, &lot, from, to)))
        .await?
        .map_err(|e| match e {
            FsmaError::Store(s) => ApiError::from(s),
            FsmaError::BadLot(m) => ApiError::QueryParameter(format!("lot: {m}")),
            FsmaError::TooMany => ApiError::QueryParameter(e.to_string()),
            FsmaError::Xlsx(m) => ApiError::Internal(m),
        })?;
    if xlsx {
        let bytes = rows_xlsx(&rows).map_err(|e| ApiError::Internal(e.to_string()))?;
        return Ok(typed_response(
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            bytes,
        ));
    }
    Ok(typed_response("text/csv; charset=utf-8", rows_csv(&rows)))
}
