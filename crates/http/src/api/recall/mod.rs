//! `/api` routes of issue 3: trace, master data, recalls with notifications and effectiveness,
//! FSMA 204 records. Thin HTTP wrappers over the pure `trace` crate (see `docs/trace.md`); state
//! lives in store records:
//!
//! | collection | id | owner | body |
//! |---|---|---|---|
//! | `masterdata.organisations` | zhiliang organisation id | the writer's organisation | name, GLN, USCC, contact, region, webhook |
//! | `masterdata.locations` | GLN or SGLN (canonical) | the writer's organisation | name, address, region |
//! | `masterdata.products` | GTIN-14 | the writer's organisation | name, brand, category, unit |
//! | `recalls` | recall id | none (access is decided here) | the recall, its effectiveness reports, status |
//! | `recall.notifications` | `{recall}.{holder}` | none | one outbox entry per holder |
//!
//! Visibility: traces and scopes are always computed with the caller's [`store::Scope`]: an
//! enterprise sees only its own events, so it never learns another enterprise's holders. Outbox
//! entries are computed over all events (the server sends them, the caller never sees them unless
//! it is a regulator or the holder itself).

mod delivery;
mod effectiveness;
mod fsma;
mod masterdata;
mod recalls;

use std::collections::BTreeMap;

use axum::Router;
use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Map, Value, json};
use store::Role;

use crate::auth::Principal;
use crate::error::ApiError;
use crate::{AppState, blocking, params};

pub use delivery::{
    HttpWebhookSender, WorkerConfig, WorkerSummary, next_wait, run_delivery_worker,
};
pub use effectiveness::{RECALL_BTT, recall_uri};
pub use fsma::{CteRow, FSMA_COLUMNS, FsmaError, fsma_rows, rows_csv, rows_xlsx};
pub use recalls::{DeliveryReport, WebhookSender, deliver_pending, next_attempt_ms, sign_payload};

/// Largest JSON or CSV body accepted by these routes.
pub const BODY_MAX: usize = 8 * 1024 * 1024;
/// Most rows in one master-data import.
pub const ROWS_MAX: usize = 10_000;
/// Longest text field.
pub const TEXT_MAX: usize = 512;
/// `perPage` of the recall and master-data lists when none is given (at most
/// `HttpLimits::per_page_max`).
pub const PAGE_DEFAULT: usize = 100;
/// Most records examined for one page of a filtered list (recalls an enterprise may see): when
/// reached, the page ends early and its token continues from there.
pub const SCAN_MAX: usize = 20_000;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/trace", get(trace_get))
        .route(
            "/api/masterdata/{kind}",
            get(masterdata::list).post(masterdata::import),
        )
        .route("/api/recalls", get(recalls::list).post(recalls::create))
        .route("/api/recalls/{id}", get(recalls::get_one))
        .route("/api/recalls/{id}/scope.csv", get(recalls::scope_csv))
        .route(
            "/api/recalls/{id}/notifications",
            get(recalls::notifications),
        )
        .route(
            "/api/recalls/{id}/notifications/{holder}/ack",
            post(recalls::ack),
        )
        .route(
            "/api/recalls/{id}/effectiveness",
            post(recalls::effectiveness_post),
        )
        .route("/api/recalls/{id}/close", post(recalls::close))
        .route("/api/recalls/{id}/publish", post(recalls::publish))
        .route("/api/recalls/{id}/notice", get(recalls::notice))
        .route("/api/fsma204", get(fsma::get))
}

// ----- helpers -----

pub(crate) fn require(p: &Principal, allowed: &[Role], what: &str) -> Result<(), ApiError> {
    if allowed.contains(&p.role) {
        return Ok(());
    }
    Err(ApiError::Forbidden(format!(
        "a key with role {} may not {what}",
        p.role.as_str()
    )))
}

pub(crate) use crate::params::query_map;

/// Read a body of at most `max` bytes.
pub(crate) async fn read_body(body: Body, max: usize) -> Result<Vec<u8>, ApiError> {
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

pub(crate) async fn json_body(headers: &HeaderMap, body: Body) -> Result<Value, ApiError> {
    let mt = media_type(headers);
    if mt != "application/json" && mt != "application/ld+json" {
        return Err(ApiError::UnsupportedMediaType(format!(
            "Content-Type: must be application/json, got {mt}"
        )));
    }
    let bytes = read_body(body, BODY_MAX).await?;
    serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::validation("", format!("the body must be JSON: {e}")))
}

pub(crate) fn check_text(pointer: &str, s: &str) -> Result<(), ApiError> {
    if s.is_empty() || s.len() > TEXT_MAX || s.chars().any(char::is_control) {
        return Err(ApiError::validation(
            pointer,
            format!("must be 1 to {TEXT_MAX} bytes without control characters"),
        ));
    }
    Ok(())
}

/// A time given as RFC 3339 or `YYYY-MM-DD` (start of that day, UTC), in ms since the epoch.
pub fn parse_time(s: &str) -> Option<i64> {
    use time::format_description::well_known::Rfc3339;
    if let Ok(t) = time::OffsetDateTime::parse(s, &Rfc3339) {
        return Some((t.unix_timestamp_nanos() / 1_000_000) as i64);
    }
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(s, &fmt)
        .ok()
        .map(|d| d.midnight().assume_utc().unix_timestamp() * 1000)
}

pub(crate) fn q_time(q: &BTreeMap<String, String>, name: &str) -> Result<Option<i64>, ApiError> {
    q.get(name)
        .map(|v| {
            parse_time(v).ok_or_else(|| {
                ApiError::QueryParameter(format!(
                    "{name}: must be an RFC 3339 time or a date YYYY-MM-DD"
                ))
            })
        })
        .transpose()
}

/// A field of a CSV file: quoted when it holds a comma, quote or line break; a leading `=`, `+`,
/// `-` or `@` is prefixed with `'` so spreadsheets do not run it as a formula.
pub fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

pub fn csv_line(fields: &[String]) -> String {
    let mut out = fields
        .iter()
        .map(|f| csv_field(f))
        .collect::<Vec<_>>()
        .join(",");
    out.push_str("\r\n");
    out
}

/// Parse CSV (RFC 4180: quoted fields, doubled quotes, CRLF or LF) into rows.
pub fn parse_csv(text: &str, rows_max: usize) -> Result<Vec<Vec<String>>, String> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    let mut any = false;
    while let Some(c) = chars.next() {
        any = true;
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => quoted = false,
                c => field.push(c),
            }
            continue;
        }
        match c {
            '"' if field.is_empty() => quoted = true,
            ',' => row.push(std::mem::take(&mut field)),
            '\r' => {}
            '\n' => {
                row.push(std::mem::take(&mut field));
                if !(row.len() == 1 && row[0].is_empty()) {
                    rows.push(std::mem::take(&mut row));
                } else {
                    row.clear();
                }
                if rows.len() > rows_max {
                    return Err(format!("more than {rows_max} rows"));
                }
                any = false;
            }
            c => field.push(c),
        }
    }
    if quoted {
        return Err("unterminated quoted field".into());
    }
    if any {
        row.push(field);
        rows.push(row);
    }
    if rows.len() > rows_max {
        return Err(format!("more than {rows_max} rows"));
    }
    Ok(rows)
}

pub(crate) fn typed_response(content_type: &'static str, body: impl Into<Body>) -> Response {
    let mut resp = (StatusCode::OK, body.into()).into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

fn trace_err(e: trace::TraceError) -> ApiError {
    match e {
        trace::TraceError::Store(s) => s.into(),
        trace::TraceError::BadEvent { .. } => ApiError::Internal(e.to_string()),
        other => ApiError::QueryParameter(other.to_string()),
    }
}

pub(crate) fn trace_store_err(e: trace::TraceError) -> store::StoreError {
    match e {
        trace::TraceError::Store(s) => s,
        other => store::StoreError::Invalid(other.to_string()),
    }
}

// ----- paging of record lists -----

/// One page of a record list, with its `Link` header when more follows.
pub(crate) struct RecordPage {
    pub items: Vec<Value>,
    /// (`Link` header, token expiry) when more follows.
    pub link: Option<(String, String)>,
}

impl RecordPage {
    /// Adds `Link: <…&nextPageToken=…>; rel="next"` and `GS1-Next-Page-Token-Expires`.
    pub fn headers(&self, resp: &mut Response) {
        if let Some((link, expires)) = &self.link {
            for (name, v) in [
                (header::LINK.as_str(), link),
                ("GS1-Next-Page-Token-Expires", expires),
            ] {
                if let Ok(v) = HeaderValue::from_str(v) {
                    resp.headers_mut().insert(name, v);
                }
            }
        }
    }
}

/// A record and what the caller sees of it (`None`: not visible).
pub(crate) type Keep = dyn Fn(&dyn store::Store, &store::Record) -> Result<Option<Value>, store::StoreError>
    + Send
    + Sync;

/// One page of `collection` in id order, as `GET /epcis/events` pages: `perPage` (default
/// [`PAGE_DEFAULT`]) and a `nextPageToken` sealed with the server secret and bound to the
/// caller's scope, `resource` and the other query parameters `q` (so it is useless to another
/// organisation or query). A next page is announced only when a further visible record exists
/// (or [`SCAN_MAX`] records were examined), so paging tells nothing about records the caller
/// cannot see; the token's position is encrypted.
pub(crate) async fn record_page(
    state: &AppState,
    p: &Principal,
    resource: &str,
    mut q: BTreeMap<String, String>,
    collection: &'static str,
    keep: std::sync::Arc<Keep>,
) -> Result<RecordPage, ApiError> {
    let max = state.limits.per_page_max;
    let per_page = match q.remove("perPage") {
        None => PAGE_DEFAULT.min(max),
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| ApiError::QueryParameter(format!("perPage: must be 1 to {max}")))?,
    };
    let tok = q.remove("nextPageToken");
    let rest: Vec<(String, String)> = q.into_iter().collect();
    let scope = p.scope();
    let secret = blocking(state, |s| s.server_secret()).await?;
    let now = state.now_ms();
    let binding = crate::token::Binding {
        scope: &scope,
        resource,
        params: &rest,
    };
    let after = match &tok {
        Some(t) => Some(
            crate::token::verify(&secret, &binding, t, now)?["a"]
                .as_str()
                .ok_or_else(|| {
                    ApiError::QueryParameter(
                        "nextPageToken: not valid for this query (or expired)".into(),
                    )
                })?
                .to_string(),
        ),
        None => None,
    };
    let (mut items, cursor) = blocking(state, move |s| {
        let mut items: Vec<(String, Value)> = Vec::new();
        let mut after = after;
        let mut scanned = 0usize;
        loop {
            let batch = s.list_records(&store::Scope::All, collection, after.as_deref(), 500)?;
            let Some(last) = batch.last() else {
                return Ok((items, None));
            };
            let last_id = last.id.clone();
            for r in &batch {
                scanned += 1;
                if let Some(v) = keep(s, r)? {
                    items.push((r.id.clone(), v));
                    if items.len() > per_page {
                        let at = items[per_page - 1].0.clone();
                        return Ok((items, Some(at)));
                    }
                }
                if scanned >= SCAN_MAX {
                    return Ok((items, Some(r.id.clone())));
                }
            }
            after = Some(last_id);
        }
    })
    .await?;
    items.truncate(per_page);
    let link = cursor.map(|at| {
        let t = crate::token::sign(&secret, &binding, json!({ "a": at }), now);
        let mut pairs = rest.clone();
        pairs.push(("perPage".into(), per_page.to_string()));
        pairs.push(("nextPageToken".into(), t));
        (
            format!(
                "<{resource}?{}>; rel=\"next\"",
                params::encode_pairs(&pairs)
            ),
            crate::output::format_time_ms(crate::token::expires_ms(now)),
        )
    });
    Ok(RecordPage {
        items: items.into_iter().map(|(_, v)| v).collect(),
        link,
    })
}

// ----- GET /api/trace -----

/// Most link hops a caller may ask for.
pub const DEPTH_MAX: u32 = 1_000;

async fn trace_get(
    State(state): State<AppState>,
    p: Principal,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let q = query_map(
        &state,
        raw.as_deref(),
        &["id", "direction", "from", "to", "depth", "format"],
    )?;
    let id = q
        .get("id")
        .ok_or_else(|| ApiError::QueryParameter("id: required".into()))?
        .clone();
    let direction = match q.get("direction").map(String::as_str) {
        None | Some("backward") => trace::Direction::Backward,
        Some("forward") => trace::Direction::Forward,
        Some(_) => {
            return Err(ApiError::QueryParameter(
                "direction: must be backward or forward".into(),
            ));
        }
    };
    let dot = match q.get("format").map(String::as_str) {
        None | Some("json") => false,
        Some("dot") => true,
        Some(_) => {
            return Err(ApiError::QueryParameter(
                "format: must be json or dot".into(),
            ));
        }
    };
    let mut opts = trace::TraceOptions::new(direction);
    opts.from_ms = q_time(&q, "from")?;
    opts.to_ms = q_time(&q, "to")?;
    if let Some(d) = q.get("depth") {
        opts.depth_max = Some(
            d.parse::<u32>()
                .ok()
                .filter(|d| *d <= DEPTH_MAX)
                .ok_or_else(|| {
                    ApiError::QueryParameter(format!("depth: must be an integer 0 to {DEPTH_MAX}"))
                })?,
        );
    }
    let scope = p.scope();
    let store = state.store.clone();
    let result =
        tokio::task::spawn_blocking(move || trace::trace(store.as_ref(), &scope, &[id], &opts))
            .await
            .map_err(|e| ApiError::Internal(format!("blocking task failed: {e}")))?
            .map_err(trace_err)?;
    if dot {
        return Ok(typed_response("text/vnd.graphviz", result.to_dot()));
    }
    Ok(axum::Json(result).into_response())
}

// ----- OpenAPI -----

struct Doc {
    method: &'static str,
    path: &'static str,
    summary: &'static str,
    query: &'static [&'static str],
    body: Option<&'static str>,
    public: bool,
}

const DOCS: &[Doc] = &[
    Doc {
        method: "get",
        path: "/api/trace",
        summary: "Trace an identifier backward or forward over the caller's events (JSON, or Graphviz with format=dot)",
        query: &["id", "direction", "from", "to", "depth", "format"],
        body: None,
        public: false,
    },
    Doc {
        method: "get",
        path: "/api/masterdata/{kind}",
        summary: "List master data (kind: organisations, locations, products); CSV with Accept: text/csv; paged (perPage, nextPageToken, Link)",
        query: &["format", "perPage", "nextPageToken"],
        body: None,
        public: false,
    },
    Doc {
        method: "post",
        path: "/api/masterdata/{kind}",
        summary: "Import master data as JSON array or CSV; kind epcis imports epcisHeader.epcisMasterData of an EPCIS document",
        query: &[],
        body: Some("JSON array of records, text/csv, or an EPCIS document (kind=epcis)"),
        public: false,
    },
    Doc {
        method: "get",
        path: "/api/recalls",
        summary: "List recalls visible to the caller; paged (perPage, nextPageToken, Link)",
        query: &["perPage", "nextPageToken"],
        body: None,
        public: false,
    },
    Doc {
        method: "post",
        path: "/api/recalls",
        summary: "Open a recall; returns it with its computed scope",
        query: &[],
        body: Some(
            "title, reason, hazard, classification I|II|III, recalling_firm, depth, targets {lots, serials, products}",
        ),
        public: false,
    },
    Doc {
        method: "get",
        path: "/api/recalls/{id}",
        summary: "A recall with its scope recomputed now, notifications and effectiveness",
        query: &[],
        body: None,
        public: false,
    },
    Doc {
        method: "get",
        path: "/api/recalls/{id}/scope.csv",
        summary: "The recall scope as CSV, one row per holder",
        query: &[],
        body: None,
        public: false,
    },
    Doc {
        method: "get",
        path: "/api/recalls/{id}/notifications",
        summary: "The notification outbox of a recall",
        query: &[],
        body: None,
        public: false,
    },
    Doc {
        method: "post",
        path: "/api/recalls/{id}/notifications/{holder}/ack",
        summary: "Acknowledge a notification (the holder's key)",
        query: &[],
        body: None,
        public: false,
    },
    Doc {
        method: "post",
        path: "/api/recalls/{id}/effectiveness",
        summary: "A holder reports recalled goods returned, destroyed, corrected, held apart or received back; captured as EPCIS ObjectEvents in the holder's own scope (201, with the event IDs in `captured`)",
        query: &[],
        body: Some(
            "holder (the caller's organisation), location, and per kind (returned, destroyed, corrected, held, received) {epcList, quantityList, to|from}",
        ),
        public: false,
    },
    Doc {
        method: "post",
        path: "/api/recalls/{id}/close",
        summary: "Close the recall once the effectiveness targets are met",
        query: &[],
        body: None,
        public: false,
    },
    Doc {
        method: "post",
        path: "/api/recalls/{id}/publish",
        summary: "Publish the public notice",
        query: &[],
        body: None,
        public: false,
    },
    Doc {
        method: "get",
        path: "/api/recalls/{id}/notice",
        summary: "The public recall notice (no key needed once published)",
        query: &[],
        body: None,
        public: true,
    },
    Doc {
        method: "get",
        path: "/api/fsma204",
        summary: "FSMA 204 electronic sortable spreadsheet for a traceability lot (CSV, or XLSX with format=xlsx)",
        query: &["lot", "from", "to", "format"],
        body: None,
        public: false,
    },
];

pub fn openapi_paths(paths: &mut Map<String, Value>) {
    for d in DOCS {
        let mut parameters: Vec<Value> = d
            .path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|p| json!({ "name": p, "in": "path", "required": true, "schema": { "type": "string" } }))
            .collect();
        for name in d.query {
            parameters.push(json!({ "name": name, "in": "query", "required": *name == "id" || *name == "lot", "schema": { "type": "string" } }));
        }
        let mut responses = Map::new();
        responses.insert(
            if d.method == "post"
                && (d.path == "/api/recalls" || d.path.ends_with("/effectiveness"))
            {
                "201"
            } else {
                "200"
            }
            .into(),
            json!({ "description": "OK" }),
        );
        crate::openapi::error_responses(&mut responses, d.path);
        let mut op = json!({
            "summary": d.summary,
            "operationId": format!("{}{}", d.method, d.path.replace(['/', '{', '}', '.', '-'], "_")),
            "parameters": parameters,
            "responses": responses,
            "tags": ["trace and recall"],
        });
        if !d.public {
            op["security"] = json!([{ "bearer": [] }]);
        }
        if let Some(b) = d.body {
            op["requestBody"] = json!({ "required": true, "description": b, "content": { "application/json": {} } });
        }
        let entry = paths.entry(d.path.to_string()).or_insert_with(|| json!({}));
        entry[d.method] = op;
    }
}
