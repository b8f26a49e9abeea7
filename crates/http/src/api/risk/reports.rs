//! Report intake: `POST /api/reports` (JSON or CSV), listing with the overdue view, the final
//! report of an incident, publication of complaints, deadline settings.

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use store::{NewRecord, OrgId, Record, Role, Scope, Store, StoreError};

use super::{
    CONFIG, CSV_BODY_MAX, CSV_ROWS_MAX, DAY_MS, PUBLIC_REPORTS, REGULATORS, REPORTS, conflict,
    format_day, hash_parts, json_body, media_type, parse_day, query_map, read_body, require, vocab,
};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::pipeline::Issue;
use crate::{AppState, blocking, output, params};

/// Longest short text field (names, seller, outcome lines).
pub const TEXT_MAX: usize = 256;
/// Longest description.
pub const DESCRIPTION_MAX: usize = 4000;
/// Largest injury or death count accepted.
pub const COUNT_MAX: u64 = 1_000_000;
/// Event ids kept in a report's trace link.
pub const TRACE_IDS_MAX: usize = 20;
/// Records examined to fill one list page.
const LIST_SCAN_MAX: usize = 100_000;

/// Incident report deadlines in days after the date of awareness.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadlines {
    /// Serious incidents: a death, or a severity of `serious` or `very_serious`.
    pub serious_days: i64,
    /// Every other incident.
    pub other_days: i64,
}

pub const DEFAULT_DEADLINES: Deadlines = Deadlines {
    serious_days: 10,
    other_days: 30,
};

fn deadlines_json(d: Deadlines) -> Value {
    json!({
        "serious_days": d.serious_days,
        "other_days": d.other_days,
        "serious_rule": "deaths > 0, or severity serious or very_serious",
        "clock": "from the date of awareness; the deadline is the end (UTC) of day awareness + days",
    })
}

fn load_deadlines(s: &dyn Store) -> Result<Deadlines, StoreError> {
    let rec = s.get_record(&Scope::All, CONFIG, "deadlines")?;
    Ok(rec
        .map(|r| Deadlines {
            serious_days: r.body["serious_days"]
                .as_i64()
                .unwrap_or(DEFAULT_DEADLINES.serious_days),
            other_days: r.body["other_days"]
                .as_i64()
                .unwrap_or(DEFAULT_DEADLINES.other_days),
        })
        .unwrap_or(DEFAULT_DEADLINES))
}

pub(super) async fn get_deadlines(
    State(state): State<AppState>,
    p: Principal,
) -> Result<Response, ApiError> {
    require(
        &p,
        &[Role::Enterprise, Role::Regulator, Role::Admin],
        "read report deadlines",
    )?;
    let d = blocking(&state, load_deadlines).await?;
    Ok(axum::Json(deadlines_json(d)).into_response())
}

pub(super) async fn put_deadlines(
    State(state): State<AppState>,
    p: Principal,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    require(&p, REGULATORS, "set report deadlines")?;
    let v = json_body(&headers, body, false).await?;
    let f = Fields::new(&v, "", &["serious_days", "other_days"])?;
    let days = |name: &str| -> Result<i64, ApiError> {
        f.count(name, 365)?
            .filter(|d| *d >= 1)
            .map(|d| d as i64)
            .ok_or_else(|| ApiError::validation(&f.ptr(name), "required: an integer 1 to 365"))
    };
    let d = Deadlines {
        serious_days: days("serious_days")?,
        other_days: days("other_days")?,
    };
    if d.serious_days > d.other_days {
        return Err(ApiError::validation(
            "/serious_days",
            "must not be longer than other_days",
        ));
    }
    let owner = p.org.clone();
    let now = state.now_ms();
    blocking(&state, move |s| {
        s.put_record(
            NewRecord {
                collection: CONFIG.into(),
                id: "deadlines".into(),
                owner: Some(owner),
                updated_ms: now,
                body: json!({ "serious_days": d.serious_days, "other_days": d.other_days }),
            },
            None,
        )
    })
    .await?;
    Ok(axum::Json(deadlines_json(d)).into_response())
}

// ----- field access with errors naming the JSON pointer and the rule -----

pub(super) struct Fields<'a> {
    m: &'a Map<String, Value>,
    at: String,
}

impl<'a> Fields<'a> {
    pub(super) fn new(v: &'a Value, at: &str, allowed: &[&str]) -> Result<Fields<'a>, ApiError> {
        let m = v
            .as_object()
            .ok_or_else(|| ApiError::validation(at, "must be an object"))?;
        if let Some(k) = m.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(ApiError::validation(
                &format!("{at}/{k}"),
                format!("unknown field; allowed: {}", allowed.join(", ")),
            ));
        }
        Ok(Fields {
            m,
            at: at.to_string(),
        })
    }
    pub(super) fn ptr(&self, name: &str) -> String {
        format!("{}/{name}", self.at)
    }
    pub(super) fn get(&self, name: &str) -> Option<&'a Value> {
        self.m.get(name).filter(|v| !v.is_null())
    }
    pub(super) fn text(&self, name: &str, max: usize) -> Result<Option<String>, ApiError> {
        let Some(v) = self.get(name) else {
            return Ok(None);
        };
        let s = v
            .as_str()
            .ok_or_else(|| ApiError::validation(&self.ptr(name), "must be a string"))?;
        let control = s
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t');
        if s.trim().is_empty() || s.len() > max || control {
            return Err(ApiError::validation(
                &self.ptr(name),
                format!("must be 1 to {max} bytes of text without control characters"),
            ));
        }
        Ok(Some(s.trim().to_string()))
    }
    pub(super) fn req_text(&self, name: &str, max: usize) -> Result<String, ApiError> {
        self.text(name, max)?
            .ok_or_else(|| ApiError::validation(&self.ptr(name), "required: a non-empty string"))
    }
    pub(super) fn count(&self, name: &str, max: u64) -> Result<Option<u64>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => v.as_u64().filter(|n| *n <= max).map(Some).ok_or_else(|| {
                ApiError::validation(&self.ptr(name), format!("must be an integer 0 to {max}"))
            }),
        }
    }
    /// A coded field: one of the vocabulary's codes.
    fn code(
        &self,
        name: &str,
        vocabulary: &str,
        required: bool,
    ) -> Result<Option<String>, ApiError> {
        let Some(v) = self.get(name) else {
            if required {
                return Err(ApiError::validation(
                    &self.ptr(name),
                    format!(
                        "required: a {vocabulary} code from GET /api/vocabulary ({})",
                        vocab::codes(vocabulary).join(", ")
                    ),
                ));
            }
            return Ok(None);
        };
        let codes = vocab::codes(vocabulary);
        match v.as_str() {
            Some(s) if codes.contains(&s) => Ok(Some(s.to_string())),
            _ => Err(ApiError::validation(
                &self.ptr(name),
                format!(
                    "must be a {vocabulary} code from GET /api/vocabulary: {}",
                    codes.join(", ")
                ),
            )),
        }
    }
    /// A date `YYYY-MM-DD`, as days since 1970-01-01.
    fn day(&self, name: &str) -> Result<Option<i64>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => {
                v.as_str().and_then(parse_day).map(Some).ok_or_else(|| {
                    ApiError::validation(&self.ptr(name), "must be a date YYYY-MM-DD")
                })
            }
        }
    }
}

// ----- the report itself -----

const KINDS: &[&str] = &["incident", "injury", "complaint"];
const COMMON: &[&str] = &[
    "kind",
    "product",
    "category",
    "hazard",
    "injury_type",
    "event_date",
    "description",
    "region",
];
const INCIDENT: &[&str] = &["awareness_date", "injuries", "deaths", "severity", "final"];
const INJURY: &[&str] = &["age_group", "body_part", "severity", "place"];
const COMPLAINT: &[&str] = &["seller", "issue", "desired_remedy", "consumer"];

/// A validated report before storage.
pub(super) struct NewReport {
    pub id: String,
    pub body: Value,
    /// Canonical product identifier to link to trace records.
    pub trace_id: Option<String>,
}

/// The product: a GTIN (with optional lot or serial), a Digital Link or an EPC URI; complaints may
/// name a product by `name` only.
fn product(v: &Value, at: &str, name_only_ok: bool) -> Result<Value, ApiError> {
    let obj;
    let v = if let Some(s) = v.as_str() {
        obj = json!({ "id": s });
        &obj
    } else {
        v
    };
    let f = Fields::new(v, at, &["id", "lot", "serial", "name"])?;
    let raw = f.text("id", gs1::MAX_URI_LEN)?;
    let lot = f.text("lot", 20)?;
    let serial = f.text("serial", 20)?;
    let name = f.text("name", TEXT_MAX)?;
    let Some(raw) = raw else {
        if name_only_ok && name.is_some() && lot.is_none() && serial.is_none() {
            return Ok(json!({ "id": null, "name": name }));
        }
        return Err(ApiError::validation(
            &f.ptr("id"),
            if name_only_ok {
                "required (or name alone): a GTIN, GS1 Digital Link or EPC URI"
            } else {
                "required: a GTIN-8/12/13/14, GS1 Digital Link or EPC URI"
            },
        ));
    };
    let dl = if raw.bytes().all(|b| b.is_ascii_digit()) {
        let g = gs1::Gtin::parse(&raw).map_err(|_| {
            ApiError::validation(
                &f.ptr("id"),
                "must be a GTIN-8/12/13/14 with a valid check digit",
            )
        })?;
        let mut dl = format!("{}/01/{}", gs1::CANONICAL_HOST, g.as_str());
        if let Some(l) = &lot {
            dl.push_str(&format!("/10/{}", params::encode(l)));
        }
        if let Some(s) = &serial {
            dl.push_str(&format!("/21/{}", params::encode(s)));
        }
        if gs1::key_path(&dl).is_err() {
            let which = if serial.is_some() { "serial" } else { "lot" };
            return Err(ApiError::validation(
                &f.ptr(which),
                "must be 1 to 20 characters of the GS1 AI 82 character set",
            ));
        }
        dl
    } else {
        if lot.is_some() || serial.is_some() {
            let which = if serial.is_some() { "serial" } else { "lot" };
            return Err(ApiError::validation(
                &f.ptr(which),
                "only with a GTIN in id (a Digital Link or EPC URI carries its own lot or serial)",
            ));
        }
        if gs1::key_path(&raw).is_err() {
            return Err(ApiError::validation(
                &f.ptr("id"),
                "must be a GTIN-8/12/13/14 with a valid check digit, a GS1 Digital Link or an EPC URI",
            ));
        }
        raw.clone()
    };
    let canonical = gs1::normalize_id(&dl);
    Ok(json!({ "id": canonical, "input": raw, "lot": lot, "serial": serial, "name": name }))
}

/// Whitespace-collapsed lowercase text (for the duplicate fingerprint).
fn norm(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// Validates one report. `at` is the JSON pointer of the report in the request.
pub(super) fn parse_report(
    v: &Value,
    at: &str,
    p: &Principal,
    now_ms: i64,
    deadlines: Deadlines,
) -> Result<NewReport, ApiError> {
    let kind = v
        .get("kind")
        .and_then(Value::as_str)
        .filter(|k| KINDS.contains(k))
        .ok_or_else(|| {
            ApiError::validation(
                &format!("{at}/kind"),
                "required: incident, injury or complaint",
            )
        })?;
    let allowed_roles: &[Role] = match kind {
        "incident" => &[Role::Enterprise, Role::Admin],
        "injury" => &[Role::Enterprise, Role::Regulator, Role::Admin],
        _ => &[Role::Enterprise, Role::Regulator, Role::Admin, Role::Public],
    };
    require(p, allowed_roles, &format!("submit {kind} reports"))?;
    let extra = match kind {
        "incident" => INCIDENT,
        "injury" => INJURY,
        _ => COMPLAINT,
    };
    let allowed: Vec<&str> = COMMON.iter().chain(extra).copied().collect();
    let f = Fields::new(v, at, &allowed)?;
    let today = now_ms.div_euclid(DAY_MS);
    let not_future = |name: &str, d: Option<i64>| -> Result<Option<i64>, ApiError> {
        match d {
            Some(d) if d > today => Err(ApiError::validation(
                &f.ptr(name),
                "must not be in the future",
            )),
            other => Ok(other),
        }
    };
    let product = match f.get("product") {
        Some(pv) => Some(product(pv, &f.ptr("product"), kind == "complaint")?),
        None if kind != "injury" => {
            return Err(ApiError::validation(
                &f.ptr("product"),
                "required: {\"id\": GTIN | Digital Link | EPC URI, \"lot\"?, \"serial\"?, \"name\"?}",
            ));
        }
        None => None,
    };
    let injury_kind = kind == "injury";
    let category = f.code("category", "category", injury_kind)?;
    let hazard = f.code("hazard", "hazard", injury_kind)?;
    let injury_type = f.code("injury_type", "injury_type", injury_kind)?;
    let description = f.text("description", DESCRIPTION_MAX)?;
    if description.is_none() && kind != "injury" {
        return Err(ApiError::validation(
            &f.ptr("description"),
            "required: what happened, 1 to 4000 bytes",
        ));
    }
    let region = match f.text("region", 12)? {
        Some(r) if !r.bytes().all(|b| b.is_ascii_alphanumeric()) => {
            return Err(ApiError::validation(
                &f.ptr("region"),
                "must be an administrative region code: 1 to 12 letters or digits",
            ));
        }
        r => r,
    };
    let mut event_day = not_future("event_date", f.day("event_date")?)?;
    let mut body = json!({
        "kind": kind,
        "reporter": p.org.as_str(),
        "submitted_ms": now_ms,
        "submitted": output::format_time_ms(now_ms),
        "product": product,
        "category": category,
        "hazard": hazard,
        "injury_type": injury_type,
        "description": description,
        "region": region,
    });
    let mut extra_key = String::new();
    match kind {
        "incident" => {
            let aw = not_future("awareness_date", f.day("awareness_date")?)?.ok_or_else(|| {
                ApiError::validation(&f.ptr("awareness_date"), "required: a date YYYY-MM-DD")
            })?;
            if event_day.is_some_and(|e| e > aw) {
                return Err(ApiError::validation(
                    &f.ptr("event_date"),
                    "must not be after awareness_date",
                ));
            }
            event_day = event_day.or(Some(aw));
            let need = |name: &str| -> Result<u64, ApiError> {
                f.count(name, COUNT_MAX)?.ok_or_else(|| {
                    ApiError::validation(&f.ptr(name), "required: an integer (0 if none)")
                })
            };
            let injuries = need("injuries")?;
            let deaths = need("deaths")?;
            let severity = f.code("severity", "severity", injuries > 0)?;
            let level = severity.as_deref().and_then(vocab::severity_level);
            let serious = deaths > 0 || level.is_some_and(|l| l >= 3);
            let days = if serious {
                deadlines.serious_days
            } else {
                deadlines.other_days
            };
            let deadline_ms = (aw + days + 1) * DAY_MS;
            let final_report = match f.get("final") {
                None => None,
                Some(fv) => Some(final_fields(fv, &f.ptr("final"))?),
            };
            body["awareness_date"] = json!(format_day(aw));
            body["injuries"] = json!(injuries);
            body["deaths"] = json!(deaths);
            body["severity"] = json!(severity);
            body["serious"] = json!(serious);
            body["deadline_days"] = json!(days);
            body["deadline"] = json!(format_day(aw + days));
            body["deadline_ms"] = json!(deadline_ms);
            body["late"] = json!(now_ms >= deadline_ms);
            body["final_ms"] = json!(final_report.as_ref().map(|_| now_ms));
            body["final"] = json!(final_report);
        }
        "injury" => {
            let event = event_day.ok_or_else(|| {
                ApiError::validation(&f.ptr("event_date"), "required: a date YYYY-MM-DD")
            })?;
            event_day = Some(event);
            for (name, vocabulary) in [
                ("age_group", "age_group"),
                ("body_part", "body_part"),
                ("severity", "severity"),
                ("place", "place"),
            ] {
                let c = f.code(name, vocabulary, true)?;
                extra_key.push_str(c.as_deref().unwrap_or_default());
                extra_key.push('|');
                body[name] = json!(c);
            }
            for c in [&category, &hazard, &injury_type] {
                extra_key.push_str(c.as_deref().unwrap_or_default());
                extra_key.push('|');
            }
        }
        _ => {
            body["seller"] = json!(f.req_text("seller", TEXT_MAX)?);
            body["issue"] = json!(f.code("issue", "issue", true)?);
            body["desired_remedy"] = json!(f.code("desired_remedy", "desired_remedy", true)?);
            body["consumer"] = match f.get("consumer") {
                None => Value::Null,
                Some(cv) => {
                    let c = Fields::new(cv, &f.ptr("consumer"), &["name", "phone", "email"])?;
                    json!({
                        "name": c.text("name", TEXT_MAX)?,
                        "phone": c.text("phone", 32)?,
                        "email": c.text("email", TEXT_MAX)?,
                    })
                }
            };
            body["published"] = json!(false);
            event_day = event_day.or(Some(today));
        }
    }
    let event_day = event_day.unwrap_or(today);
    body["event_date"] = json!(format_day(event_day));
    body["event_day"] = json!(event_day);
    let prod = &body["product"];
    let product_key = prod["id"]
        .as_str()
        .map(str::to_string)
        .or_else(|| prod["name"].as_str().map(norm))
        .unwrap_or_else(|| format!("category:{}", body["category"].as_str().unwrap_or("")));
    let fingerprint = hash_parts(&[
        p.org.as_str(),
        kind,
        &product_key,
        &format_day(event_day),
        &norm(body["description"].as_str().unwrap_or_default()),
        &extra_key,
    ]);
    let id = format!("rep-{}", &fingerprint[..24]);
    body["id"] = json!(id);
    body["fingerprint"] = json!(fingerprint);
    let trace_id = body["product"]["id"].as_str().map(str::to_string);
    Ok(NewReport { id, body, trace_id })
}

fn final_fields(v: &Value, at: &str) -> Result<Value, ApiError> {
    let f = Fields::new(v, at, &["outcome", "corrective_action"])?;
    Ok(json!({
        "outcome": f.req_text("outcome", DESCRIPTION_MAX)?,
        "corrective_action": f.text("corrective_action", DESCRIPTION_MAX)?,
    }))
}

/// Whether an incident report is overdue now: its deadline passed without a final report, or it
/// was itself received after the deadline.
fn overdue(body: &Value, now_ms: i64) -> bool {
    if body["kind"] != "incident" {
        return false;
    }
    let deadline = body["deadline_ms"].as_i64().unwrap_or(i64::MAX);
    let late = body["late"].as_bool().unwrap_or(false);
    let open = body["final"].is_null();
    late || (open && now_ms >= deadline)
}

/// The report as the caller sees it: the overdue state computed now; event ids of the trace link
/// only for regulators (an enterprise sees its own events through /epcis and /api/trace).
fn view(mut body: Value, now_ms: i64, p: &Principal) -> Value {
    if body["kind"] == "incident" {
        body["overdue"] = json!(overdue(&body, now_ms));
    }
    if !matches!(p.role, Role::Regulator | Role::Admin)
        && let Some(t) = body.get_mut("trace").and_then(Value::as_object_mut)
    {
        // Whether (and how many) events exist is computed over every organisation's events:
        // only regulators may learn it.
        t.remove("event_ids");
        t.remove("events");
        t.remove("linked");
    }
    if let Some(o) = body.as_object_mut() {
        o.remove("event_day");
    }
    body
}

enum Outcome {
    Created(Value),
    Duplicate(String),
}

/// Store one report (duplicate = a record with the same id exists), with its trace link.
fn store_report(
    s: &dyn Store,
    r: NewReport,
    owner: &OrgId,
    now: i64,
) -> Result<Outcome, StoreError> {
    let mut body = r.body;
    // A bare GTIN may touch millions of events: link lots, serials and other instance-level
    // identifiers only (a GTIN is traced through /api/trace on demand).
    let gtin_only = |id: &str| id.contains("/01/") && !id.contains("/10/") && !id.contains("/21/");
    if let Some(id) = r.trace_id.as_deref().filter(|id| gtin_only(id)) {
        body["trace"] = json!({
            "id": id,
            "linked": null,
            "trace": format!("/api/trace?id={}", params::encode(id)),
        });
    } else if let Some(id) = &r.trace_id {
        let events = s.events_touching(&Scope::All, std::slice::from_ref(id))?;
        let ids: Vec<&str> = events
            .iter()
            .take(TRACE_IDS_MAX)
            .map(|e| e.event_id.as_str())
            .collect();
        body["trace"] = json!({
            "id": id,
            "linked": !events.is_empty(),
            "events": events.len(),
            "event_ids": ids,
            "trace": format!("/api/trace?id={}", params::encode(id)),
        });
    }
    let rec = NewRecord {
        collection: REPORTS.into(),
        id: r.id.clone(),
        owner: Some(owner.clone()),
        updated_ms: now,
        body: body.clone(),
    };
    match s.put_record(rec, Some(0)) {
        Ok(_) => Ok(Outcome::Created(body)),
        Err(StoreError::Conflict { .. }) => Ok(Outcome::Duplicate(r.id)),
        Err(e) => Err(e),
    }
}

/// CSV columns and where they go in the JSON report.
const CSV_COLUMNS: &[&str] = &[
    "kind",
    "product_id",
    "lot",
    "serial",
    "product_name",
    "category",
    "hazard",
    "injury_type",
    "event_date",
    "awareness_date",
    "description",
    "injuries",
    "deaths",
    "severity",
    "region",
    "age_group",
    "body_part",
    "place",
    "seller",
    "issue",
    "desired_remedy",
    "consumer_name",
    "consumer_phone",
    "consumer_email",
];

/// CSV rows -> JSON reports (empty cells are absent fields).
fn csv_reports(text: &str) -> Result<Vec<(usize, Value)>, ApiError> {
    let mut it = risk::csv::records(text);
    let (_, header) = match it.next() {
        Some(r) => r.map_err(|e| ApiError::validation("/csv", e.to_string()))?,
        None => {
            return Err(ApiError::validation(
                "/csv",
                "empty: a header row is required",
            ));
        }
    };
    let header: Vec<String> = header
        .iter()
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    for h in &header {
        if !CSV_COLUMNS.contains(&h.as_str()) {
            return Err(ApiError::validation(
                &format!("/csv/header/{h}"),
                format!("unknown column; allowed: {}", CSV_COLUMNS.join(", ")),
            ));
        }
    }
    if !header.iter().any(|h| h == "kind") {
        return Err(ApiError::validation("/csv/header/kind", "required column"));
    }
    let mut out = Vec::new();
    for rec in it {
        let (line, fields) = rec.map_err(|e| ApiError::validation("/csv", e.to_string()))?;
        if fields.len() == 1 && fields[0].trim().is_empty() {
            continue;
        }
        if out.len() >= CSV_ROWS_MAX {
            return Err(ApiError::PayloadTooLarge(format!(
                "more than {CSV_ROWS_MAX} rows in one import"
            )));
        }
        if fields.len() != header.len() {
            return Err(ApiError::validation(
                &format!("/rows/{}", out.len()),
                format!(
                    "line {line}: {} fields, the header has {}",
                    fields.len(),
                    header.len()
                ),
            ));
        }
        let mut o = Map::new();
        let mut prod = Map::new();
        let mut consumer = Map::new();
        for (h, v) in header.iter().zip(fields.iter()) {
            let v = v.trim();
            if v.is_empty() {
                continue;
            }
            let s = json!(v);
            match h.as_str() {
                "product_id" => drop(prod.insert("id".into(), s)),
                "lot" | "serial" => drop(prod.insert(h.clone(), s)),
                "product_name" => drop(prod.insert("name".into(), s)),
                "consumer_name" | "consumer_phone" | "consumer_email" => {
                    drop(consumer.insert(h["consumer_".len()..].to_string(), s))
                }
                "injuries" | "deaths" => {
                    let n = v.parse::<u64>().map(Value::from).unwrap_or(s);
                    o.insert(h.clone(), n);
                }
                _ => drop(o.insert(h.clone(), s)),
            }
        }
        if !prod.is_empty() {
            o.insert("product".into(), Value::Object(prod));
        }
        if !consumer.is_empty() {
            o.insert("consumer".into(), Value::Object(consumer));
        }
        out.push((line, Value::Object(o)));
    }
    if out.is_empty() {
        return Err(ApiError::validation("/rows", "at least one row"));
    }
    Ok(out)
}

fn with_line(e: ApiError, line: usize) -> ApiError {
    match e {
        ApiError::Validation(issues) => ApiError::Validation(
            issues
                .into_iter()
                .map(|i| Issue {
                    pointer: i.pointer,
                    rule: format!("line {line}: {}", i.rule),
                })
                .collect(),
        ),
        other => other,
    }
}

pub(super) async fn create_reports(
    State(state): State<AppState>,
    p: Principal,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let now = state.now_ms();
    let deadlines = blocking(&state, load_deadlines).await?;
    let mt = media_type(&headers);
    if mt == "text/csv" {
        let bytes = read_body(&headers, body, CSV_BODY_MAX).await?;
        let text = String::from_utf8(bytes)
            .map_err(|_| ApiError::validation("/csv", "must be UTF-8 text"))?;
        let rows = csv_reports(&text)?;
        let mut reports = Vec::with_capacity(rows.len());
        for (i, (line, v)) in rows.iter().enumerate() {
            let r = parse_report(v, &format!("/rows/{i}"), &p, now, deadlines)
                .map_err(|e| with_line(e, *line))?;
            reports.push(r);
        }
        let owner = p.org.clone();
        let outcomes = blocking(&state, move |s| {
            reports
                .into_iter()
                .map(|r| store_report(s, r, &owner, now))
                .collect::<Result<Vec<_>, _>>()
        })
        .await?;
        let mut created = Vec::new();
        let mut duplicates = Vec::new();
        for (i, o) in outcomes.into_iter().enumerate() {
            match o {
                Outcome::Created(b) => created.push(b["id"].clone()),
                Outcome::Duplicate(id) => {
                    duplicates.push(json!({ "row": i, "line": rows[i].0, "existing_id": id }))
                }
            }
        }
        let status = if created.is_empty() {
            StatusCode::OK
        } else {
            StatusCode::CREATED
        };
        return Ok((
            status,
            axum::Json(json!({ "created": created, "duplicates": duplicates })),
        )
            .into_response());
    }
    if mt != "application/json" {
        return Err(ApiError::UnsupportedMediaType(format!(
            "Content-Type: must be application/json or text/csv, got {mt}"
        )));
    }
    let v = json_body(&headers, body, false).await?;
    let r = parse_report(&v, "", &p, now, deadlines)?;
    let owner = p.org.clone();
    let outcome = blocking(&state, move |s| store_report(s, r, &owner, now)).await?;
    match outcome {
        Outcome::Duplicate(id) => Ok(conflict(
            "a report with the same reporter, product, event date and description exists",
            &id,
            &format!("/api/reports/{id}"),
        )),
        Outcome::Created(b) => {
            let loc = format!("/api/reports/{}", b["id"].as_str().unwrap_or_default());
            let mut resp = (StatusCode::CREATED, axum::Json(view(b, now, &p))).into_response();
            if let Ok(v) = HeaderValue::from_str(&loc) {
                resp.headers_mut().insert(header::LOCATION, v);
            }
            Ok(resp)
        }
    }
}

pub(super) async fn get_report(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let (scope, collection) = if p.role == Role::Public {
        (Scope::Public, PUBLIC_REPORTS)
    } else {
        (p.scope(), REPORTS)
    };
    let rec = blocking(&state, move |s| s.get_record(&scope, collection, &id))
        .await?
        .ok_or_else(|| ApiError::NoSuchResource("no such report".into()))?;
    Ok(axum::Json(view(rec.body, state.now_ms(), &p)).into_response())
}

pub(super) async fn list_reports(
    State(state): State<AppState>,
    p: Principal,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let q = query_map(
        &state,
        raw.as_deref(),
        &["kind", "overdue", "published", "after", "perPage"],
    )?;
    let flag = |name: &str| -> Result<bool, ApiError> {
        match q.get(name).map(String::as_str) {
            None | Some("false") => Ok(false),
            Some("true") => Ok(true),
            Some(_) => Err(ApiError::QueryParameter(format!(
                "{name}: must be true or false"
            ))),
        }
    };
    let overdue_only = flag("overdue")?;
    let published = flag("published")? || p.role == Role::Public;
    let kind = q.get("kind").cloned();
    if let Some(k) = &kind
        && !KINDS.contains(&k.as_str())
    {
        return Err(ApiError::QueryParameter(
            "kind: must be incident, injury or complaint".into(),
        ));
    }
    let max = state.limits.per_page_max;
    let per_page = match q.get("perPage") {
        None => state.limits.per_page_default,
        Some(v) => v
            .parse()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| ApiError::QueryParameter(format!("perPage: must be 1 to {max}")))?,
    };
    let (scope, collection) = if published {
        (Scope::Public, PUBLIC_REPORTS)
    } else {
        (p.scope(), REPORTS)
    };
    let now = state.now_ms();
    let after = q.get("after").cloned();
    let (items, next) = blocking(&state, move |s| {
        let mut items: Vec<Record> = Vec::new();
        let mut cursor = after;
        let mut scanned = 0usize;
        loop {
            let batch = s.list_records(&scope, collection, cursor.as_deref(), 1_000)?;
            let Some(last) = batch.last() else {
                return Ok((items, None));
            };
            cursor = Some(last.id.clone());
            for r in batch {
                scanned += 1;
                let keep = kind.as_deref().is_none_or(|k| r.body["kind"] == k)
                    && (!overdue_only || overdue(&r.body, now));
                if keep {
                    items.push(r);
                    if items.len() == per_page {
                        let next = items.last().map(|r| r.id.clone());
                        return Ok((items, next));
                    }
                }
            }
            if scanned >= LIST_SCAN_MAX {
                return Ok((items, cursor));
            }
        }
    })
    .await?;
    let body: Vec<Value> = items.into_iter().map(|r| view(r.body, now, &p)).collect();
    let mut resp = axum::Json(body).into_response();
    if let Some(a) = next {
        let mut pairs: Vec<(String, String)> = q
            .iter()
            .filter(|(k, _)| k.as_str() != "after")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        pairs.push(("after".into(), a));
        let link = format!(
            "</api/reports?{}>; rel=\"next\"",
            params::encode_pairs(&pairs)
        );
        if let Ok(v) = HeaderValue::from_str(&link) {
            resp.headers_mut().insert(header::LINK, v);
        }
    }
    Ok(resp)
}

pub(super) async fn final_report(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    require(&p, &[Role::Enterprise, Role::Admin], "submit final reports")?;
    let v = json_body(&headers, body, false).await?;
    let fin = final_fields(&v, "")?;
    let now = state.now_ms();
    let scope = p.own_scope();
    let out = blocking(&state, move |s| {
        let Some(rec) = s.get_record(&scope, REPORTS, &id)? else {
            return Ok(Err(ApiError::NoSuchResource("no such report".into())));
        };
        if rec.body["kind"] != "incident" {
            return Ok(Err(ApiError::validation(
                "/kind",
                "only incident reports take a final report",
            )));
        }
        if !rec.body["final"].is_null() {
            return Ok(Err(ApiError::AlreadyExists(
                "this incident report already has its final report".into(),
            )));
        }
        let mut b = rec.body;
        b["final"] = fin;
        b["final_ms"] = json!(now);
        s.put_record(
            NewRecord {
                collection: REPORTS.into(),
                id,
                owner: rec.owner,
                updated_ms: now,
                body: b.clone(),
            },
            Some(rec.version),
        )?;
        Ok(Ok(b))
    })
    .await??;
    Ok(axum::Json(view(out, now, &p)).into_response())
}

/// Personal data removed from free text: e-mail addresses, runs of 7 or more digits (phone and
/// identity numbers, spaces and dashes allowed inside), and the complainant's name.
pub fn redact(text: &str, names: &[&str]) -> String {
    const MARK: &str = "[removed]";
    let mut out = String::with_capacity(text.len());
    for (wi, word) in text.split(' ').enumerate() {
        if wi > 0 {
            out.push(' ');
        }
        if word.contains('@') && word.contains('.') {
            out.push_str(MARK);
            continue;
        }
        out.push_str(word);
    }
    // Digit runs (allowing single spaces, dashes, '+' and parentheses between digits).
    let chars: Vec<char> = out.chars().collect();
    let mut res = String::with_capacity(out.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_digit()
            || (chars[i] == '+' && chars.get(i + 1).is_some_and(char::is_ascii_digit))
        {
            let mut j = i;
            let mut digits = 0;
            let mut end = i;
            while j < chars.len()
                && (chars[j].is_ascii_digit() || matches!(chars[j], ' ' | '-' | '+' | '(' | ')'))
            {
                if chars[j].is_ascii_digit() || chars[j] == 'X' {
                    digits += 1;
                    end = j + 1;
                }
                j += 1;
            }
            // An identity number may end in X.
            if end < chars.len() && chars[end] == 'X' {
                end += 1;
            }
            if digits >= 7 {
                res.push_str(MARK);
                i = end;
                continue;
            }
            res.extend(&chars[i..end.max(i + 1)]);
            i = end.max(i + 1);
            continue;
        }
        res.push(chars[i]);
        i += 1;
    }
    let mut out = res;
    for n in names.iter().filter(|n| n.chars().count() >= 2) {
        out = out.replace(n, MARK);
    }
    out
}

/// The public version of a complaint: no consumer, no reporter, no exact date, redacted text.
fn public_version(b: &Value, summary: Option<&str>, now: i64) -> Value {
    let name = b["consumer"]["name"].as_str().unwrap_or_default();
    let mut names: Vec<&str> = vec![name];
    names.extend(name.split_whitespace());
    let text = summary.or(b["description"].as_str()).unwrap_or_default();
    let month: String = b["event_date"]
        .as_str()
        .unwrap_or_default()
        .chars()
        .take(7)
        .collect();
    json!({
        "id": b["id"],
        "kind": "complaint",
        "product": {
            "id": b["product"]["id"],
            "name": b["product"]["name"],
            "lot": b["product"]["lot"],
        },
        "category": b["category"],
        "hazard": b["hazard"],
        "seller": b["seller"],
        "issue": b["issue"],
        "desired_remedy": b["desired_remedy"],
        "region": b["region"],
        "event_month": month,
        "description": redact(text, &names),
        "published": true,
        "published_ms": now,
        "published_at": output::format_time_ms(now),
    })
}

pub(super) async fn publish(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    require(&p, REGULATORS, "publish complaints")?;
    let v = json_body(&headers, body, true).await?;
    let f = Fields::new(&v, "", &["summary"])?;
    let summary = f.text("summary", DESCRIPTION_MAX)?;
    let now = state.now_ms();
    let out = blocking(&state, move |s| {
        let Some(rec) = s.get_record(&Scope::All, REPORTS, &id)? else {
            return Ok(Err(ApiError::NoSuchResource("no such report".into())));
        };
        if rec.body["kind"] != "complaint" {
            return Ok(Err(ApiError::validation(
                "/kind",
                "only complaints are published",
            )));
        }
        let public = public_version(&rec.body, summary.as_deref(), now);
        s.put_record(
            NewRecord {
                collection: PUBLIC_REPORTS.into(),
                id: id.clone(),
                owner: None,
                updated_ms: now,
                body: public.clone(),
            },
            None,
        )?;
        let mut b = rec.body;
        b["published"] = json!(true);
        b["published_ms"] = json!(now);
        s.put_record(
            NewRecord {
                collection: REPORTS.into(),
                id,
                owner: rec.owner,
                updated_ms: now,
                body: b,
            },
            Some(rec.version),
        )?;
        Ok(Ok(public))
    })
    .await??;
    Ok(axum::Json(out).into_response())
}

/// Every report visible to regulators (for signals and scans), at most `max`.
pub(super) fn all_reports(s: &dyn Store, max: usize) -> Result<Vec<Value>, StoreError> {
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let batch = s.list_records(&Scope::All, REPORTS, after.as_deref(), super::SCAN_BATCH)?;
        let Some(last) = batch.last() else {
            return Ok(out);
        };
        after = Some(last.id.clone());
        if out.len() + batch.len() > max {
            return Err(StoreError::LimitExceeded(format!(
                "reports: more than {max} records; the limit for one analysis"
            )));
        }
        out.extend(batch.into_iter().map(|r| r.body));
    }
}
