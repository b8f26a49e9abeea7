//! `/api` routes: risk monitoring (issue 5). Report intake (incident, injury, complaint), the
//! coded vocabulary, signal detection over stored reports, EU 2019/417 risk assessments, early
//! warning alerts and recall proposals. Thin HTTP wrappers over the pure `risk` crate
//! (`docs/risk.md`); the vocabulary is in [`vocab`] (`docs/vocabulary.md`). State lives in store
//! records:
//!
//! | collection | id | owner | body |
//! |---|---|---|---|
//! | `reports` | `rep-` + 24 hex of the duplicate fingerprint | the reporter's organisation | a report |
//! | `reports.public` | the report id | none (public) | the redacted public version of a complaint |
//! | `risk.config` | `deadlines` | the regulator who set it | incident deadline days |
//! | `alerts` | `alr-` + 24 hex of (method, by, group, week) | the regulator who ran the scan | an alert |
//! | `assessments` | `asm-` + 24 random hex | the caller's organisation | input, result, links |
//! | `recall.proposals` | `rcp-` + the assessment's hex | the regulator | a recall draft with links |
//!
//! The chain signal -> assessment -> recall is one record trail: an alert names its assessment
//! and proposal, the assessment its alert and proposal, the proposal both.

mod analysis;
mod reports;
pub mod vocab;

use std::collections::BTreeMap;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use store::Role;

use crate::AppState;
use crate::auth::Principal;
use crate::error::ApiError;

pub const REPORTS: &str = "reports";
pub const PUBLIC_REPORTS: &str = "reports.public";
pub const CONFIG: &str = "risk.config";
pub const ALERTS: &str = "alerts";
pub const ASSESSMENTS: &str = "assessments";
pub const PROPOSALS: &str = "recall.proposals";

/// Largest JSON body (one report, an assessment, a scan request).
pub const BODY_MAX: usize = 1024 * 1024;
/// Largest CSV import.
pub const CSV_BODY_MAX: usize = 8 * 1024 * 1024;
/// Most rows in one CSV import.
pub const CSV_ROWS_MAX: usize = 10_000;
/// Most records one analysis (signals, scan) reads.
pub const SCAN_RECORDS_MAX: usize = 1_000_000;
/// Records read per store call.
const SCAN_BATCH: usize = 1_000;
/// `perPage` of the alert list when none is given (at most `HttpLimits::per_page_max`).
pub const PAGE_DEFAULT: usize = 100;
/// Most records examined for one page of a filtered list: when reached, the page ends early and
/// its token continues from there.
pub const PAGE_SCAN_MAX: usize = 20_000;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/vocabulary", get(vocabulary))
        .route(
            "/api/reports",
            get(reports::list_reports).post(reports::create_reports),
        )
        .route(
            "/api/reports/deadlines",
            get(reports::get_deadlines).put(reports::put_deadlines),
        )
        .route("/api/reports/{id}", get(reports::get_report))
        .route("/api/reports/{id}/final", post(reports::final_report))
        .route("/api/reports/{id}/publish", post(reports::publish))
        .route("/api/signals", get(analysis::signals))
        .route("/api/risk/assessments", post(analysis::create_assessment))
        .route("/api/risk/assessments/{id}", get(analysis::get_assessment))
        .route(
            "/api/risk/assessments/{id}/recall-proposal",
            post(analysis::recall_proposal),
        )
        .route("/api/alerts", get(analysis::list_alerts))
        .route("/api/alerts/scan", post(analysis::scan))
        .route("/api/alerts/{id}", get(analysis::get_alert))
        .route("/api/alerts/{id}/assess", post(analysis::assess_alert))
}

async fn vocabulary(_p: Principal) -> Response {
    axum::Json(vocab::json()).into_response()
}

// ----- helpers -----

pub(crate) const REGULATORS: &[Role] = &[Role::Regulator, Role::Admin];

pub(crate) fn require(p: &Principal, allowed: &[Role], what: &str) -> Result<(), ApiError> {
    if allowed.contains(&p.role) {
        return Ok(());
    }
    let names: Vec<&str> = allowed.iter().map(|r| r.as_str()).collect();
    Err(ApiError::Forbidden(format!(
        "a key with role {} may not {what} (allowed: {})",
        p.role.as_str(),
        names.join(", ")
    )))
}

pub(crate) use crate::params::query_map;

/// One page of a record list, and the `Link` / `GS1-Next-Page-Token-Expires` headers when
/// more follows.
pub(crate) struct Page {
    pub items: Vec<Value>,
    next: Option<(String, String)>,
}

impl Page {
    /// The items as a JSON array with the paging headers.
    pub fn into_response(self) -> Response {
        let mut resp = axum::Json(Value::Array(self.items)).into_response();
        if let Some((link, expires)) = self.next {
            for (name, v) in [
                (header::LINK.as_str(), link),
                ("GS1-Next-Page-Token-Expires", expires),
            ] {
                if let Ok(v) = HeaderValue::from_str(&v) {
                    resp.headers_mut().insert(name, v);
                }
            }
        }
        resp
    }
}

/// A filter over stored records: the body to list, or `None` to skip the record.
pub(crate) type Keep = dyn Fn(&store::Record) -> Option<Value> + Send + Sync;

/// One page of `collection` (see [`super::recall::record_page`], which this adapts: the same
/// `perPage`, sealed `nextPageToken` bound to caller, resource and query, and `Link`).
pub(crate) async fn page_records(
    state: &AppState,
    p: &Principal,
    resource: &str,
    q: BTreeMap<String, String>,
    collection: &'static str,
    keep: std::sync::Arc<Keep>,
) -> Result<Page, ApiError> {
    let keep: std::sync::Arc<super::recall::Keep> =
        std::sync::Arc::new(move |_: &dyn store::Store, r: &store::Record| Ok(keep(r)));
    let page = super::recall::record_page(state, p, resource, q, collection, keep).await?;
    Ok(Page {
        items: page.items,
        next: page.link,
    })
}

/// Read a body of at most `max` bytes (a declared larger `Content-Length` is refused unread).
pub(crate) async fn read_body(
    headers: &HeaderMap,
    body: Body,
    max: usize,
) -> Result<Vec<u8>, ApiError> {
    if let Some(len) = headers.get(header::CONTENT_LENGTH) {
        let len: u64 = len
            .to_str()
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| ApiError::validation("Content-Length", "must be a number"))?;
        if len > max as u64 {
            return Err(ApiError::PayloadTooLarge(format!(
                "the body is {len} bytes; the limit is {max} bytes"
            )));
        }
    }
    axum::body::to_bytes(body, max)
        .await
        .map(|b| b.to_vec())
        .map_err(|_| {
            ApiError::PayloadTooLarge(format!("the body is over the limit of {max} bytes"))
        })
}

pub(crate) fn media_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// A JSON body (an empty body is `{}` when `empty_ok`).
pub(crate) async fn json_body(
    headers: &HeaderMap,
    body: Body,
    empty_ok: bool,
) -> Result<Value, ApiError> {
    let bytes = read_body(headers, body, BODY_MAX).await?;
    if empty_ok && bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    let mt = media_type(headers);
    if mt != "application/json" {
        return Err(ApiError::UnsupportedMediaType(format!(
            "Content-Type: must be application/json, got {mt}"
        )));
    }
    serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::validation("", format!("the body must be JSON: {e}")))
}

/// Lowercase hex SHA-256 of length-prefixed parts.
pub(crate) fn hash_parts(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_be_bytes());
        h.update(p.as_bytes());
    }
    hex::encode(h.finalize())
}

pub(crate) const DAY_MS: i64 = 86_400_000;

/// `YYYY-MM-DD` -> days since 1970-01-01.
pub(crate) fn parse_day(s: &str) -> Option<i64> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    if s.len() != 10 {
        return None;
    }
    time::Date::parse(s, &fmt)
        .ok()
        .map(|d| i64::from(d.to_julian_day()) - 2_440_588)
}

/// Days since 1970-01-01 -> `YYYY-MM-DD`.
pub(crate) fn format_day(days: i64) -> String {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::from_julian_day((days + 2_440_588) as i32)
        .ok()
        .and_then(|d| d.format(&fmt).ok())
        .unwrap_or_default()
}

/// A `from`/`to` query date (`to` excluded), as days.
pub(crate) fn q_day(q: &BTreeMap<String, String>, name: &str) -> Result<Option<i64>, ApiError> {
    q.get(name)
        .map(|v| {
            parse_day(v).ok_or_else(|| {
                ApiError::QueryParameter(format!("{name}: must be a date YYYY-MM-DD"))
            })
        })
        .transpose()
}

/// A 409 problem naming the record that already exists.
pub(crate) fn conflict(detail: &str, existing_id: &str, location: &str) -> Response {
    let body = json!({
        "type": "epcisException:ResourceAlreadyExistsException",
        "title": "Resource already exists",
        "status": 409,
        "detail": detail,
        "existing_id": existing_id,
        "existing": location,
    });
    let mut resp = (StatusCode::CONFLICT, body.to_string()).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    resp
}

pub(crate) fn risk_err(e: risk::RiskError, base: &str) -> ApiError {
    match e {
        risk::RiskError::Invalid { field, rule } => {
            let ptr = format!("{base}/{}", field.replace(['[', '.'], "/").replace(']', ""));
            ApiError::validation(&ptr, rule)
        }
        risk::RiskError::Limit { field, limit, what } => {
            let ptr = format!("{base}/{}", field.replace(['[', '.'], "/").replace(']', ""));
            ApiError::validation(&ptr, format!("at most {limit} {what}"))
        }
        other => ApiError::validation(base, other.to_string()),
    }
}

// ----- OpenAPI -----

struct Doc {
    method: &'static str,
    path: &'static str,
    summary: &'static str,
    query: &'static [(&'static str, &'static str)],
    body: Option<&'static str>,
    success: u16,
}

const DOCS: &[Doc] = &[
    Doc {
        method: "get",
        path: "/api/vocabulary",
        summary: "The coded-field vocabulary of reports (hazards, injury types, body parts, severities, product categories, ...)",
        query: &[],
        body: None,
        success: 200,
    },
    Doc {
        method: "post",
        path: "/api/reports",
        summary: "Submit a report (incident, injury or complaint) as JSON, or many as text/csv with a header row; 409 names the existing report of a duplicate",
        query: &[],
        body: Some(
            "a report object with `kind` incident|injury|complaint (see docs/vocabulary.md), or CSV",
        ),
        success: 201,
    },
    Doc {
        method: "get",
        path: "/api/reports",
        summary: "Reports visible to the caller (enterprises: their own; regulators: all; public keys: published complaints)",
        query: &[
            ("kind", "incident, injury or complaint"),
            (
                "overdue",
                "true: incident reports past their deadline (late or without final report)",
            ),
            ("published", "true: the published (redacted) complaints"),
            ("after", "the last id of the previous page"),
            ("perPage", "page size"),
        ],
        body: None,
        success: 200,
    },
    Doc {
        method: "get",
        path: "/api/reports/deadlines",
        summary: "Incident report deadlines in days after awareness (serious and other)",
        query: &[],
        body: None,
        success: 200,
    },
    Doc {
        method: "put",
        path: "/api/reports/deadlines",
        summary: "Set the incident report deadlines (regulator)",
        query: &[],
        body: Some("{\"serious_days\": 10, \"other_days\": 30}"),
        success: 200,
    },
    Doc {
        method: "get",
        path: "/api/reports/{id}",
        summary: "One report (public keys: its published version)",
        query: &[],
        body: None,
        success: 200,
    },
    Doc {
        method: "post",
        path: "/api/reports/{id}/final",
        summary: "Complete an incident report with its final (investigation) report, stopping the deadline clock",
        query: &[],
        body: Some("{\"outcome\": \"...\", \"corrective_action\": \"...\"}"),
        success: 200,
    },
    Doc {
        method: "post",
        path: "/api/reports/{id}/publish",
        summary: "Publish a reviewed complaint with personal data removed (regulator)",
        query: &[],
        body: Some(
            "optional {\"summary\": \"...\"} replacing the description in the public version",
        ),
        success: 200,
    },
    Doc {
        method: "get",
        path: "/api/signals",
        summary: "Disproportionality signals over the stored reports (product category x hazard or injury type), CSV or JSON (regulator)",
        query: &[
            ("method", "prr, ror, bcpnn or mgps"),
            ("by", "hazard (default) or injury"),
            ("from", "first event date included, YYYY-MM-DD"),
            ("to", "first event date excluded, YYYY-MM-DD"),
            ("format", "csv or json (default: from Accept, else json)"),
            (
                "stratified",
                "true: expected counts stratified by report kind",
            ),
        ],
        body: None,
        success: 200,
    },
    Doc {
        method: "post",
        path: "/api/risk/assessments",
        summary: "EU 2019/417 risk assessment: scenarios -> level, rationale and sensitivity (stored)",
        query: &[],
        body: Some(
            "{\"product\", \"hazard\", \"scenarios\": [{\"description\", \"injury\", \"severity\", \"steps\": [{\"description\", \"probability\"}]}], \"report_ids\"?}",
        ),
        success: 201,
    },
    Doc {
        method: "get",
        path: "/api/risk/assessments/{id}",
        summary: "A stored risk assessment",
        query: &[],
        body: None,
        success: 200,
    },
    Doc {
        method: "post",
        path: "/api/risk/assessments/{id}/recall-proposal",
        summary: "Propose a recall from an assessment (regulator); stored in recall.proposals with links to the assessment and alert",
        query: &[],
        body: Some(
            "optional {\"reason\", \"classification\": \"I|II|III\", \"depth\", \"recalling_firm\", \"targets\"}",
        ),
        success: 201,
    },
    Doc {
        method: "post",
        path: "/api/alerts/scan",
        summary: "Run an early-warning method over weekly report counts and store the alerts (regulator)",
        query: &[],
        body: Some(
            "{\"method\": \"ears_c1|ears_c2|ears_c3|cusum|ewma|farrington\", \"by\": \"category|hazard|region\", \"from\", \"to\", ...}; or Kulldorff's Poisson space-time scan statistic by region and week: {\"method\": \"space_time_scan\", \"from\", \"to\", \"regions\": [{\"id\", \"x\", \"y\", \"population\"?}], \"kind\"?, \"category\"?, \"hazard\"?, \"max_population_fraction\"? (0.5), \"max_weeks\"?, \"prospective\"?, \"replicates\"? (999), \"seed\"?, \"alpha\"? (0.05), \"top\"? (10)}: the most likely cluster with its Monte Carlo p-value, stored as an alert when p <= alpha",
        ),
        success: 200,
    },
    Doc {
        method: "get",
        path: "/api/alerts",
        summary: "Stored alerts in id order, paged (regulator); Link rel=\"next\" when more follow",
        query: &[
            ("status", "open, assessed or proposed"),
            (
                "method",
                "ears_c1, ears_c2, ears_c3, cusum, ewma, farrington or space_time_scan",
            ),
            (
                "perPage",
                "alerts per page, 1 to the server's maximum (default 100)",
            ),
            (
                "nextPageToken",
                "from the previous page's Link header; bound to the caller and the other parameters",
            ),
        ],
        body: None,
        success: 200,
    },
    Doc {
        method: "get",
        path: "/api/alerts/{id}",
        summary: "One alert (regulator)",
        query: &[],
        body: None,
        success: 200,
    },
    Doc {
        method: "post",
        path: "/api/alerts/{id}/assess",
        summary: "Create a risk assessment linked to the alert (regulator)",
        query: &[],
        body: Some("an assessment request; product and hazard default to the alert's group"),
        success: 201,
    },
];

use crate::openapi::problem;

pub fn openapi_paths(paths: &mut Map<String, Value>) {
    for d in DOCS {
        let mut parameters: Vec<Value> = d
            .path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|p| json!({ "name": p, "in": "path", "required": true, "schema": { "type": "string" } }))
            .collect();
        for (name, description) in d.query {
            parameters.push(json!({ "name": name, "in": "query", "required": false, "description": description, "schema": { "type": "string" } }));
        }
        let mut responses = Map::new();
        responses.insert(
            d.success.to_string(),
            json!({ "description": if d.success == 201 { "Created" } else { "OK" } }),
        );
        crate::openapi::error_responses(&mut responses, d.path);
        if d.body.is_some() {
            responses.insert(
                "409".into(),
                problem("ResourceAlreadyExistsException with existing_id"),
            );
            responses.insert("413".into(), problem("the body is over its limit"));
        }
        responses.insert("500".into(), problem("ImplementationException"));
        let mut op = json!({
            "summary": d.summary,
            "operationId": format!("{}{}", d.method, d.path.replace(['/', '{', '}', '.', '-'], "_")),
            "parameters": parameters,
            "responses": responses,
            "security": [{ "bearer": [] }],
            "tags": ["risk"],
        });
        if let Some(b) = d.body {
            op["requestBody"] = json!({ "required": true, "description": b, "content": { "application/json": {} } });
            if d.path == "/api/reports" {
                op["requestBody"]["content"]["text/csv"] = json!({});
            }
        }
        let entry = paths.entry(d.path.to_string()).or_insert_with(|| json!({}));
        entry[d.method] = op;
    }
}
