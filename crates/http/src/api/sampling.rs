//! `/api` routes: supervision sampling ("double random, one public", issue 4). Thin HTTP wrappers
//! over the pure `sampling` crate (see `docs/sampling.md`); state lives in store records:
//!
//! | collection | id | owner | body |
//! |---|---|---|---|
//! | `sampling.targets` | target id | the regulator that wrote it | a register row (`draw::Target`) |
//! | `sampling.inspectors` | inspector id | the regulator | a register row (`draw::Inspector`) |
//! | `sampling.tasks` | draw id | none (public from the commitment on) | rules, seed commitment, beacon, the published commitment |
//! | `sampling.snapshots` | `{draw}/targets/{n}`, `{draw}/inspectors/{n}` | the regulator until the draw runs, then none (public) | chunks of the population snapshot |
//! | `sampling.snapshots` | `{draw}/selections/{n}` | none (public) | chunks of the draw |
//! | `sampling.draws` | draw id | none (public) | the proof and the number of selection chunks |
//! | `sampling.results` | inspection id | the regulator until published, then none (public) | an inspection record |
//! | `sampling.switching` | SHA-256 of (org, product, supplier) | the caller's organisation | the switching state |
//!
//! Roles: registers, draws and results are written by regulators only (`admin` may read); plans,
//! OC curves and statistics are open to every valid key; public keys see only published results
//! (the store's [`Scope::Public`] sees only records without owner).
//!
//! "One public" for draws: the commitment (task, rules, snapshot hashes, seed commitment, beacon)
//! is public as soon as it is made; the draw, its proof, the revealed randomness and the population
//! snapshot become public when the draw runs, so that anyone can re-derive it
//! (`GET /api/draws/{id}/material` is the input of `zhiliang draw verify`). Regulators and admins
//! see everything at every stage (the snapshot before the run, the live registers beside it);
//! enterprise keys see what the public sees plus which selections concern their own organisation. Register imports are upserts
//! by id, one record per row, and not atomic across rows (a retry of the same import is safe).

use std::collections::{BTreeMap, HashSet};

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use store::{NewRecord, OrgId, Record, Role, Scope, Store, StoreError};

use sampling::draw::{
    self, BeaconSpec, BeaconValue, Commitment, Draw, DrawTask, Inspector, Published, Randomness,
    Rules, Selection, Target,
};
use sampling::oc::{self, Model};
use sampling::plans::{self, Aql, Inspection, Level, PlanRequest, PlanResult, Scheme, Standard};
use sampling::spot::{SpotCheckPlan, TestItem};
use sampling::stats::{self, GroupBy, InspectionRecord, Outcome, StratumSample, Window};
use sampling::switching::{LotResult, Switching};
use sampling::{DrawError, PlanError};

use crate::auth::Principal;
use crate::error::ApiError;
use crate::{AppState, blocking, output, params, token};

pub const TARGETS: &str = "sampling.targets";
pub const INSPECTORS: &str = "sampling.inspectors";
pub const TASKS: &str = "sampling.tasks";
pub const SNAPSHOTS: &str = "sampling.snapshots";
pub const DRAWS: &str = "sampling.draws";
pub const RESULTS: &str = "sampling.results";
pub const SWITCHING: &str = "sampling.switching";

/// Largest register import body (CSV or JSON).
pub const REGISTER_BODY_MAX: usize = 8 * 1024 * 1024;
/// Most rows in one register import.
pub const REGISTER_ROWS_MAX: usize = 10_000;
/// Most targets and inspectors in one draw's population snapshot.
pub const POPULATION_TARGETS_MAX: usize = 200_000;
pub const POPULATION_INSPECTORS_MAX: usize = 50_000;
/// Largest body of a draw task, a run, a lot result or inspection records.
pub const BODY_MAX: usize = 4 * 1024 * 1024;
/// Most inspection records in one POST.
pub const RESULTS_PER_REQUEST_MAX: usize = 1_000;
/// Most records one statistics request reads (the rollup itself is in the sampling crate; the
/// store is read record by record, so larger rollups belong in a batch job or the CLI).
pub const STATS_RECORDS_MAX: usize = 1_000_000;
/// Most records examined to fill one filtered page (then the page ends early with a next link).
pub const LIST_SCAN_MAX: usize = 100_000;
/// Longest text field.
pub const TEXT_MAX: usize = 256;
/// Longest draw or inspection id.
pub const ID_MAX: usize = 128;
/// Lot results kept in a switching state record (newest last).
pub const LOT_HISTORY_MAX: usize = 100;
/// Target size of one snapshot chunk record.
const CHUNK_BYTES: usize = 1024 * 1024;
/// Records read per store call when scanning.
const SCAN_BATCH: usize = 1_000;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/sampling/plan", get(plan))
        .route("/api/sampling/oc", get(oc_curve))
        .route("/api/sampling/aoql", get(aoql))
        .route("/api/sampling/design", get(design))
        .route("/api/sampling/spot-check", post(spot_check))
        .route(
            "/api/sampling/switching/{product}/{supplier}",
            get(switching_get),
        )
        .route(
            "/api/sampling/switching/{product}/{supplier}/lots",
            post(switching_lot),
        )
        .route(
            "/api/sampling/switching/{product}/{supplier}/resume",
            post(switching_resume),
        )
        .route(
            "/api/sampling/targets",
            get(list_targets).post(import_targets),
        )
        .route(
            "/api/sampling/inspectors",
            get(list_inspectors).post(import_inspectors),
        )
        .route("/api/draws", get(list_draws).post(create_draw))
        .route("/api/draws/{id}", get(get_draw))
        .route("/api/draws/{id}/material", get(draw_material))
        .route("/api/draws/{id}/run", post(run_draw))
        .route("/api/draws/{id}/verify", get(verify_draw))
        .route(
            "/api/inspections",
            get(list_inspections).post(create_inspections),
        )
        .route("/api/inspections/{id}", get(get_inspection))
        .route("/api/inspections/{id}/publish", post(publish_inspection))
        .route("/api/statistics/pass-rates", get(pass_rates))
        .route("/api/statistics/stratified", post(stratified))
}

// ----- helpers: roles, errors, query strings, bodies -----

fn require(p: &Principal, allowed: &[Role], what: &str) -> Result<(), ApiError> {
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

const WRITERS: &[Role] = &[Role::Regulator];
const READERS: &[Role] = &[Role::Regulator, Role::Admin];
/// Everything published about draws: every role.
const DRAW_PUBLIC: &[Role] = &[Role::Regulator, Role::Admin, Role::Enterprise, Role::Public];

/// A plan/statistics error in a query parameter.
fn query_err(e: PlanError) -> ApiError {
    ApiError::QueryParameter(e.to_string())
}

/// A plan error about a body field.
fn body_plan_err(e: PlanError) -> ApiError {
    match e {
        PlanError::Invalid { field, rule } => ApiError::validation(
            &format!("/{}", field.replace('.', "/")),
            format!("must be {rule}"),
        ),
        PlanError::Discontinued => ApiError::validation(
            "/state",
            "inspection is discontinued for this product and supplier: POST …/resume after corrective action",
        ),
        other => ApiError::validation("", other.to_string()),
    }
}

fn draw_err(e: DrawError) -> ApiError {
    match e {
        DrawError::Invalid { field, rule } => {
            let pointer = format!("/{}", field.replace('.', "/"));
            ApiError::validation(&pointer, format!("must be {rule}"))
        }
        DrawError::Duplicate { field, id } => {
            ApiError::validation(&format!("/{field}"), format!("duplicate id {id:?}"))
        }
        DrawError::SeedMismatch => ApiError::validation(
            "/seed",
            "must be the seed whose SHA-256 is the published seed_commitment",
        ),
    }
}

fn internal(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

use crate::params::query_map;

fn q_u64(q: &BTreeMap<String, String>, name: &str) -> Result<Option<u64>, ApiError> {
    q.get(name)
        .map(|v| {
            v.trim().parse::<u64>().map_err(|_| {
                ApiError::QueryParameter(format!("{name}: must be a non-negative integer"))
            })
        })
        .transpose()
}

fn q_required<'a>(q: &'a BTreeMap<String, String>, name: &str) -> Result<&'a str, ApiError> {
    q.get(name)
        .map(String::as_str)
        .ok_or_else(|| ApiError::QueryParameter(format!("{name}: required")))
}

fn wants_svg(q: &BTreeMap<String, String>) -> Result<bool, ApiError> {
    match q.get("format").map(String::as_str) {
        None | Some("json") => Ok(false),
        Some("svg") => Ok(true),
        Some(_) => Err(ApiError::QueryParameter(
            "format: must be json or svg".into(),
        )),
    }
}

fn svg_response(svg: String) -> Response {
    let mut resp = (StatusCode::OK, svg).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("image/svg+xml"),
    );
    resp
}

/// Read a body of at most `max` bytes (a declared larger `Content-Length` is refused unread).
async fn read_body(headers: &HeaderMap, body: Body, max: usize) -> Result<Vec<u8>, ApiError> {
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
    match axum::body::to_bytes(body, max).await {
        Ok(b) => Ok(b.to_vec()),
        Err(e) => {
            let is_limit = std::error::Error::source(&e)
                .is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
            if is_limit {
                Err(ApiError::PayloadTooLarge(format!(
                    "the body is over the limit of {max} bytes"
                )))
            } else {
                Err(ApiError::validation(
                    "",
                    format!("the body could not be read: {e}"),
                ))
            }
        }
    }
}

fn media_type(headers: &HeaderMap) -> String {
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

async fn json_body(headers: &HeaderMap, body: Body, max: usize) -> Result<Value, ApiError> {
    let mt = media_type(headers);
    if mt != "application/json" {
        return Err(ApiError::UnsupportedMediaType(format!(
            "Content-Type: must be application/json, got {mt}"
        )));
    }
    let bytes = read_body(headers, body, max).await?;
    serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::validation("", format!("the body must be JSON: {e}")))
}

/// Field access on a JSON object with errors naming the JSON pointer and the rule.
struct Obj<'a> {
    m: &'a Map<String, Value>,
    at: String,
}

impl<'a> Obj<'a> {
    fn new(v: &'a Value, at: &str, allowed: &[&str]) -> Result<Obj<'a>, ApiError> {
        let m = v
            .as_object()
            .ok_or_else(|| ApiError::validation(at, "must be an object"))?;
        if let Some(k) = m.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(ApiError::validation(
                &format!("{at}/{k}"),
                format!("unknown field; allowed: {}", allowed.join(", ")),
            ));
        }
        Ok(Obj {
            m,
            at: at.to_string(),
        })
    }
    fn ptr(&self, name: &str) -> String {
        format!("{}/{name}", self.at)
    }
    fn get(&self, name: &str) -> Option<&'a Value> {
        self.m.get(name).filter(|v| !v.is_null())
    }
    fn opt_str(&self, name: &str) -> Result<Option<String>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => {
                let s = v
                    .as_str()
                    .ok_or_else(|| ApiError::validation(&self.ptr(name), "must be a string"))?;
                check_text(&self.ptr(name), s)?;
                Ok(Some(s.to_string()))
            }
        }
    }
    fn str(&self, name: &str) -> Result<String, ApiError> {
        self.opt_str(name)?
            .ok_or_else(|| ApiError::validation(&self.ptr(name), "required: a non-empty string"))
    }
    fn opt_u64(&self, name: &str, max: u64) -> Result<Option<u64>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => v.as_u64().filter(|n| *n <= max).map(Some).ok_or_else(|| {
                ApiError::validation(&self.ptr(name), format!("must be an integer 0 to {max}"))
            }),
        }
    }
    fn opt_bool(&self, name: &str) -> Result<Option<bool>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => v
                .as_bool()
                .map(Some)
                .ok_or_else(|| ApiError::validation(&self.ptr(name), "must be true or false")),
        }
    }
    fn list(&self, name: &str) -> Result<Vec<String>, ApiError> {
        let Some(v) = self.get(name) else {
            return Ok(Vec::new());
        };
        let a = v
            .as_array()
            .ok_or_else(|| ApiError::validation(&self.ptr(name), "must be an array of strings"))?;
        if a.len() > draw::LIST_MAX {
            return Err(ApiError::validation(
                &self.ptr(name),
                format!("at most {} entries", draw::LIST_MAX),
            ));
        }
        a.iter()
            .enumerate()
            .map(|(i, x)| {
                let p = format!("{}/{i}", self.ptr(name));
                let s = x
                    .as_str()
                    .ok_or_else(|| ApiError::validation(&p, "must be a string"))?;
                check_text(&p, s)?;
                Ok(s.to_string())
            })
            .collect()
    }
    /// A sub-object deserialised with serde (types of the sampling crate).
    fn typed<T: DeserializeOwned>(&self, name: &str) -> Result<T, ApiError> {
        let v = self
            .get(name)
            .ok_or_else(|| ApiError::validation(&self.ptr(name), "required"))?;
        serde_json::from_value(v.clone())
            .map_err(|e| ApiError::validation(&self.ptr(name), e.to_string()))
    }
}

fn check_text(pointer: &str, s: &str) -> Result<(), ApiError> {
    if s.is_empty() || s.len() > TEXT_MAX || s.chars().any(char::is_control) {
        return Err(ApiError::validation(
            pointer,
            format!("must be 1 to {TEXT_MAX} bytes without control characters"),
        ));
    }
    Ok(())
}

/// Ids used in URLs and record keys: 1 to 128 of `A-Z a-z 0-9 - _ .`.
fn check_id(pointer: &str, s: &str) -> Result<(), ApiError> {
    let ok = !s.is_empty()
        && s.len() <= ID_MAX
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(ApiError::validation(
            pointer,
            format!("must be 1 to {ID_MAX} characters from A-Z a-z 0-9 - _ ."),
        ))
    }
}

/// `YYYY-MM-DD` with a plausible month and day.
fn check_date(pointer: &str, s: &str) -> Result<(), ApiError> {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    let ok = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && digits(0..4)
        && digits(5..7)
        && digits(8..10)
        && (1..=12).contains(&s[5..7].parse::<u32>().unwrap_or(0))
        && (1..=31).contains(&s[8..10].parse::<u32>().unwrap_or(0));
    if ok {
        Ok(())
    } else {
        Err(ApiError::validation(pointer, "must be a date YYYY-MM-DD"))
    }
}

// ----- paging over record collections -----

struct Paging {
    per_page: usize,
    token: Option<String>,
    rest: Vec<(String, String)>,
}

fn paging(
    state: &AppState,
    raw: Option<&str>,
    allowed: &[&str],
) -> Result<(Paging, BTreeMap<String, String>), ApiError> {
    let mut all = allowed.to_vec();
    all.extend(["perPage", "nextPageToken"]);
    let mut q = query_map(state, raw, &all)?;
    let max = state.limits.per_page_max;
    let per_page = match q.remove("perPage") {
        None => state.limits.per_page_default,
        Some(v) => v
            .parse()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| ApiError::QueryParameter(format!("perPage: must be 1 to {max}")))?,
    };
    let token = q.remove("nextPageToken");
    let rest = q.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    Ok((
        Paging {
            per_page,
            token,
            rest,
        },
        q,
    ))
}

/// One page of the records of `collection` visible in `scope` that pass `keep`, as a JSON array
/// of their bodies, with `Link: rel="next"` when more may follow.
async fn list_page(
    state: &AppState,
    scope: Scope,
    collection: &'static str,
    resource: &str,
    page: Paging,
    keep: impl Fn(&Record) -> bool + Send + 'static,
) -> Result<Response, ApiError> {
    list_page_with(state, scope, collection, resource, page, keep, |b| b).await
}

/// [`list_page`] with each body shown through `show`.
async fn list_page_with(
    state: &AppState,
    scope: Scope,
    collection: &'static str,
    resource: &str,
    page: Paging,
    keep: impl Fn(&Record) -> bool + Send + 'static,
    show: impl Fn(Value) -> Value,
) -> Result<Response, ApiError> {
    let secret = blocking(state, |s| s.server_secret()).await?;
    let now = state.now_ms();
    let binding = token::Binding {
        scope: &scope,
        resource,
        params: &page.rest,
    };
    let after = match &page.token {
        Some(t) => Some(
            token::verify(&secret, &binding, t, now)?["a"]
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
    let per_page = page.per_page;
    let scope2 = scope.clone();
    let (items, next_after) = blocking(state, move |s| {
        let mut items: Vec<Record> = Vec::new();
        let mut cursor = after;
        let mut scanned = 0usize;
        loop {
            let batch = s.list_records(
                &scope2,
                collection,
                cursor.as_deref(),
                SCAN_BATCH.max(per_page + 1),
            )?;
            let Some(last) = batch.last() else {
                return Ok((items, None));
            };
            cursor = Some(last.id.clone());
            for r in batch {
                scanned += 1;
                if keep(&r) {
                    items.push(r);
                    if items.len() > per_page {
                        items.truncate(per_page);
                        let next = items.last().map(|r| r.id.clone());
                        return Ok((items, next));
                    }
                }
            }
            if scanned >= LIST_SCAN_MAX {
                // Budget spent: end the page here and continue after the last record examined.
                return Ok((items, cursor));
            }
        }
    })
    .await?;
    let body: Vec<Value> = items.into_iter().map(|r| show(r.body)).collect();
    let mut resp = axum::Json(body).into_response();
    if let Some(a) = next_after {
        let t = token::sign(&secret, &binding, json!({ "a": a }), now);
        let mut pairs = page.rest.clone();
        pairs.push(("perPage".into(), per_page.to_string()));
        pairs.push(("nextPageToken".into(), t));
        let link = format!(
            "<{resource}?{}>; rel=\"next\"",
            params::encode_pairs(&pairs)
        );
        if let Ok(v) = HeaderValue::from_str(&link) {
            resp.headers_mut().insert(header::LINK, v);
        }
        let expires = output::format_time_ms(token::expires_ms(now));
        if let Ok(v) = HeaderValue::from_str(&expires) {
            resp.headers_mut().insert("GS1-Next-Page-Token-Expires", v);
        }
    }
    Ok(resp)
}

/// Every record of a collection visible in `scope` (at most `max`, else `LimitExceeded`), mapped
/// batch by batch so that only the mapped values are held.
fn scan_map<T>(
    s: &dyn Store,
    scope: &Scope,
    collection: &str,
    max: usize,
    mut f: impl FnMut(Record) -> Result<Option<T>, StoreError>,
) -> Result<Vec<T>, StoreError> {
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    let mut seen = 0usize;
    loop {
        let batch = s.list_records(scope, collection, after.as_deref(), SCAN_BATCH)?;
        let Some(last) = batch.last() else {
            return Ok(out);
        };
        after = Some(last.id.clone());
        seen += batch.len();
        if seen > max {
            return Err(StoreError::LimitExceeded(format!(
                "{collection}: more than {max} records; the limit for one request"
            )));
        }
        for r in batch {
            if let Some(v) = f(r)? {
                out.push(v);
            }
        }
    }
}

/// A register, decoded.
fn register<T: DeserializeOwned>(
    s: &dyn Store,
    scope: &Scope,
    collection: &str,
    max: usize,
) -> Result<Vec<T>, StoreError> {
    scan_map(s, scope, collection, max, |r| {
        serde_json::from_value(r.body)
            .map(Some)
            .map_err(|e| internal(format!("{collection} {}: {e}", r.id)))
    })
}

// ----- chunked snapshots -----

/// Store `items` as chunk records `{prefix}/{n:06}` of about `CHUNK_BYTES` each; returns the count.
/// `owner` None makes them public. With `overwrite` an existing chunk is replaced (for content
/// that is a deterministic function of the inputs, so that a retried run after a crash succeeds).
fn put_chunks<T: Serialize>(
    s: &dyn Store,
    prefix: &str,
    items: &[T],
    owner: Option<&OrgId>,
    now: i64,
    overwrite: bool,
) -> Result<u64, StoreError> {
    let mut n = 0u64;
    let mut buf: Vec<Value> = Vec::new();
    let mut bytes = 0usize;
    let flush = |n: &mut u64, buf: &mut Vec<Value>| -> Result<(), StoreError> {
        s.put_record(
            NewRecord {
                collection: SNAPSHOTS.into(),
                id: format!("{prefix}/{:06}", *n),
                owner: owner.cloned(),
                updated_ms: now,
                body: Value::Array(std::mem::take(buf)),
            },
            if overwrite { None } else { Some(0) },
        )?;
        *n += 1;
        Ok(())
    };
    for it in items {
        let v = serde_json::to_value(it).map_err(internal)?;
        bytes += v.to_string().len() + 1;
        buf.push(v);
        if bytes >= CHUNK_BYTES {
            flush(&mut n, &mut buf)?;
            bytes = 0;
        }
    }
    if !buf.is_empty() {
        flush(&mut n, &mut buf)?;
    }
    Ok(n)
}

fn get_chunks<T: DeserializeOwned>(
    s: &dyn Store,
    scope: &Scope,
    prefix: &str,
    count: u64,
) -> Result<Vec<T>, StoreError> {
    let mut out = Vec::new();
    for n in 0..count {
        let id = format!("{prefix}/{n:06}");
        let rec = s
            .get_record(scope, SNAPSHOTS, &id)?
            .ok_or_else(|| internal(format!("snapshot chunk {id} is missing")))?;
        let part: Vec<T> = serde_json::from_value(rec.body)
            .map_err(|e| internal(format!("snapshot chunk {id}: {e}")))?;
        out.extend(part);
    }
    Ok(out)
}

// ----- plans and OC curves -----

/// The plan as `zhiliang sampling plan --json` prints it.
pub fn plan_json(r: &PlanResult) -> Value {
    let mut out = json!({
        "standard": r.standard,
        "inspection": r.inspection,
        "level": r.level,
        "aql": r.aql.as_str(),
        "lot_size": r.lot_size,
        "code_letter": r.code_letter.to_string(),
        "hundred_percent": r.hundred_percent,
    });
    if let Some(d) = r.double {
        out["scheme"] = json!("double");
        out["sample_size"] = json!(d.n1);
        out["accept"] = json!(d.ac1);
        out["reject"] = json!(d.re1);
        out["stages"] = json!([
            {"stage": 1, "sample_size": d.n1, "cumulative_sample_size": d.n1, "accept": d.ac1, "reject": d.re1},
            {"stage": 2, "sample_size": d.n2, "cumulative_sample_size": d.n1 + d.n2, "accept": d.ac2, "reject": d.re2},
        ]);
    } else if let Some(s) = r.single {
        out["scheme"] = json!("single");
        out["plan_letter"] = json!(r.plan_letter.map(|c| c.to_string()));
        out["sample_size"] = json!(s.n);
        out["accept"] = json!(s.ac);
        out["reject"] = json!(s.re);
        if r.used_single_instead_of_double {
            out["note"] = json!("the double-sampling table has * here: use the single plan");
        }
    }
    out
}

async fn plan(
    State(state): State<AppState>,
    _p: Principal,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let q = query_map(
        &state,
        raw.as_deref(),
        &[
            "lot_size",
            "level",
            "aql",
            "inspection",
            "scheme",
            "standard",
        ],
    )?;
    let lot_size = q_u64(&q, "lot_size")?
        .ok_or_else(|| ApiError::QueryParameter("lot_size: required".into()))?;
    let get = |k: &str, d: &'static str| q.get(k).map(String::as_str).unwrap_or(d).to_string();
    let req = PlanRequest {
        standard: Standard::parse(&get("standard", "gb2828")).map_err(query_err)?,
        inspection: Inspection::parse(&get("inspection", "normal")).map_err(query_err)?,
        scheme: Scheme::parse(&get("scheme", "single")).map_err(query_err)?,
        level: Level::parse(&get("level", "II")).map_err(query_err)?,
        aql: Aql::parse(q_required(&q, "aql")?).map_err(query_err)?,
        lot_size,
    };
    let r = plans::plan(&req).map_err(|e| match e {
        PlanError::NotAvailable { .. } => ApiError::QueryParameter(format!("scheme: {e}")),
        PlanError::TableGap { .. } => ApiError::QueryParameter(format!("aql: {e}")),
        other => query_err(other),
    })?;
    Ok(axum::Json(plan_json(&r)).into_response())
}

async fn oc_curve(
    State(state): State<AppState>,
    _p: Principal,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let q = query_map(
        &state,
        raw.as_deref(),
        &["sample_size", "accept", "p", "model", "lot_size", "format"],
    )?;
    let n = q_u64(&q, "sample_size")?
        .ok_or_else(|| ApiError::QueryParameter("sample_size: required".into()))?;
    let c =
        q_u64(&q, "accept")?.ok_or_else(|| ApiError::QueryParameter("accept: required".into()))?;
    let lot = q_u64(&q, "lot_size")?;
    let model_name = q.get("model").map(String::as_str).unwrap_or("binomial");
    let model = Model::parse(model_name, lot).map_err(query_err)?;
    let raw_p = q_required(&q, "p")?;
    let ps: Vec<f64> = raw_p
        .split(',')
        .map(|x| {
            x.trim()
                .parse::<f64>()
                .ok()
                .filter(|p| p.is_finite() && (0.0..=1.0).contains(p))
                .ok_or_else(|| {
                    ApiError::QueryParameter(format!(
                        "p: {x:?} is not a proportion in [0, 1] (comma-separated list)"
                    ))
                })
        })
        .collect::<Result<_, _>>()?;
    let svg = wants_svg(&q)?;
    let pts = tokio::task::spawn_blocking(move || oc::oc_curve(model, n, c, &ps, lot))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(query_err)?;
    if svg {
        let xy: Vec<(f64, f64)> = pts.iter().map(|p| (p.p, p.pa)).collect();
        let label = format!("n = {n}, c = {c} ({model_name})");
        let svg = sampling::chart::oc_svg(
            "Operating characteristic",
            &[sampling::chart::Curve {
                label: &label,
                points: &xy,
            }],
        )
        .map_err(query_err)?;
        return Ok(svg_response(svg));
    }
    let points: Vec<Value> = pts
        .iter()
        .map(|p| json!({"p": p.p, "pa": p.pa, "aoq": p.aoq, "ati": p.ati}))
        .collect();
    Ok(axum::Json(json!({ "points": points })).into_response())
}

// ----- switching rules -----

/// Record id of the switching state of (organisation, product, supplier).
/// A proportion query parameter in [0, 1] (or (0, 1) when `open`).
fn q_prop(q: &BTreeMap<String, String>, name: &str, open: bool) -> Result<f64, ApiError> {
    let v = q_required(q, name)?;
    v.trim()
        .parse::<f64>()
        .ok()
        .filter(|x| x.is_finite() && (0.0..=1.0).contains(x) && !(open && (*x == 0.0 || *x == 1.0)))
        .ok_or_else(|| {
            ApiError::QueryParameter(format!(
                "{name}: {v:?} is not a proportion in {}",
                if open { "(0, 1)" } else { "[0, 1]" }
            ))
        })
}

async fn cpu<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, PlanError> + Send + 'static,
) -> Result<Result<T, PlanError>, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))
}

/// AOQL of a single plan under rectifying inspection (binomial Pa), and the p where it falls.
async fn aoql(
    State(state): State<AppState>,
    _p: Principal,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let q = query_map(
        &state,
        raw.as_deref(),
        &["sample_size", "accept", "lot_size"],
    )?;
    let need = |k: &str| -> Result<u64, ApiError> {
        q_u64(&q, k)?.ok_or_else(|| ApiError::QueryParameter(format!("{k}: required")))
    };
    let (n, c, lot) = (need("sample_size")?, need("accept")?, need("lot_size")?);
    if n == 0 || n > lot {
        return Err(ApiError::QueryParameter(
            "sample_size: must be 1 to lot_size".into(),
        ));
    }
    if c >= n {
        return Err(ApiError::QueryParameter(
            "accept: must be less than sample_size".into(),
        ));
    }
    let (v, at) = cpu(move || oc::aoql(n, c, lot)).await?.map_err(query_err)?;
    Ok(axum::Json(json!({
        "sample_size": n,
        "accept": c,
        "reject": c + 1,
        "lot_size": lot,
        "aoql": v,
        "p_at_aoql": at,
        "model": "binomial",
    }))
    .into_response())
}

/// Plan design: the smallest single plan (n, c) with Pa(p1) >= 1 - alpha and Pa(p2) <= beta.
async fn design(
    State(state): State<AppState>,
    _p: Principal,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let q = query_map(
        &state,
        raw.as_deref(),
        &["p1", "alpha", "p2", "beta", "model", "lot_size"],
    )?;
    let p1 = q_prop(&q, "p1", true)?;
    let alpha = q_prop(&q, "alpha", true)?;
    let p2 = q_prop(&q, "p2", true)?;
    let beta = q_prop(&q, "beta", true)?;
    if p2 <= p1 {
        return Err(ApiError::QueryParameter(
            "p2: must be greater than p1 (the consumer's quality is the worse one)".into(),
        ));
    }
    if beta >= 1.0 - alpha {
        return Err(ApiError::QueryParameter(
            "beta: must be less than 1 - alpha".into(),
        ));
    }
    let lot = q_u64(&q, "lot_size")?;
    let model_name = q.get("model").map(String::as_str).unwrap_or("binomial");
    let model = Model::parse(model_name, lot).map_err(query_err)?;
    let producer = oc::RiskPoint {
        p: p1,
        pa: 1.0 - alpha,
    };
    let consumer = oc::RiskPoint { p: p2, pa: beta };
    let d = cpu(move || oc::design_plan(producer, consumer, model))
        .await?
        .map_err(|e| match e {
            PlanError::NotAvailable { .. } => ApiError::QueryParameter(format!(
                "p2: no single plan with n up to {} meets both risk points; widen the gap between p1 and p2 or the risks",
                oc::DESIGN_N_MAX
            )),
            other => query_err(other),
        })?;
    Ok(axum::Json(json!({
        "sample_size": d.n,
        "accept": d.c,
        "reject": d.r,
        "model": model_name.to_ascii_lowercase(),
        "lot_size": lot,
        "producer": {"p": p1, "alpha": alpha, "pa": d.pa_at_producer},
        "consumer": {"p": p2, "beta": beta, "pa": d.pa_at_consumer},
    }))
    .into_response())
}

/// National supervision spot check: judge a batch (any failed item fails it; a re-inspection of
/// the reserve units replaces the items it covers) and/or the probability that a batch passes.
async fn spot_check(
    State(_state): State<AppState>,
    _p: Principal,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let v = json_body(&headers, body, BODY_MAX).await?;
    let o = Obj::new(
        &v,
        "",
        &[
            "test_units",
            "reserve_units",
            "items",
            "failed_units",
            "reinspection",
            "p_item",
        ],
    )?;
    let units = u64::from(sampling::spot::UNITS_MAX);
    let test_units = o
        .opt_u64("test_units", units)?
        .ok_or_else(|| ApiError::validation("/test_units", "required"))?;
    let reserve_units = o.opt_u64("reserve_units", units)?.unwrap_or(0);
    let raw_items = o
        .get("items")
        .and_then(Value::as_array)
        .ok_or_else(|| ApiError::validation("/items", "required: an array of test items"))?;
    if raw_items.len() > sampling::spot::ITEMS_MAX {
        return Err(ApiError::validation(
            "/items",
            format!("at most {} test items", sampling::spot::ITEMS_MAX),
        ));
    }
    let mut items = Vec::with_capacity(raw_items.len());
    for (i, it) in raw_items.iter().enumerate() {
        let io = Obj::new(it, &format!("/items/{i}"), &["name", "standard_clause"])?;
        items.push(TestItem {
            name: io.str("name")?,
            standard_clause: io.str("standard_clause")?,
        });
    }
    let plan = SpotCheckPlan::new(test_units as u32, reserve_units as u32, items)
        .map_err(body_plan_err)?;
    let n_items = plan.items.len();
    let counts = |name: &str| -> Result<Option<Vec<u32>>, ApiError> {
        let Some(a) = o.get(name) else {
            return Ok(None);
        };
        let a = a.as_array().filter(|a| a.len() == n_items).ok_or_else(|| {
            ApiError::validation(
                &format!("/{name}"),
                format!("must be an array with one count per test item ({n_items})"),
            )
        })?;
        a.iter()
            .enumerate()
            .map(|(i, x)| {
                x.as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or_else(|| {
                        ApiError::validation(
                            &format!("/{name}/{i}"),
                            "must be a non-negative integer",
                        )
                    })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    };
    let failed = counts("failed_units")?;
    let mut reinspection = Vec::new();
    if let Some(r) = o.get("reinspection") {
        let a = r.as_array().filter(|a| a.len() <= n_items).ok_or_else(|| {
            ApiError::validation(
                "/reinspection",
                "must be an array of {item, failed}, at most one per test item",
            )
        })?;
        for (i, x) in a.iter().enumerate() {
            let ro = Obj::new(x, &format!("/reinspection/{i}"), &["item", "failed"])?;
            let item = ro
                .opt_u64("item", n_items.saturating_sub(1) as u64)?
                .ok_or_else(|| {
                    ApiError::validation(&ro.ptr("item"), "required: an index into items")
                })?;
            let f = ro
                .opt_u64("failed", u64::from(plan.reserve_units))?
                .ok_or_else(|| ApiError::validation(&ro.ptr("failed"), "required"))?;
            reinspection.push((item as usize, f as u32));
        }
        if failed.is_none() {
            return Err(ApiError::validation(
                "/reinspection",
                "needs failed_units (a re-inspection replaces results of the test units)",
            ));
        }
    }
    let p_item: Option<Vec<f64>> = match o.get("p_item") {
        None => None,
        Some(a) => {
            let a = a.as_array().filter(|a| a.len() == n_items).ok_or_else(|| {
                ApiError::validation(
                    "/p_item",
                    format!("must be an array with one probability per test item ({n_items})"),
                )
            })?;
            Some(
                a.iter()
                    .enumerate()
                    .map(|(i, x)| {
                        x.as_f64()
                            .filter(|p| (0.0..=1.0).contains(p))
                            .ok_or_else(|| {
                                ApiError::validation(
                                    &format!("/p_item/{i}"),
                                    "must be a probability in [0, 1]",
                                )
                            })
                    })
                    .collect::<Result<_, _>>()?,
            )
        }
    };
    if failed.is_none() && p_item.is_none() {
        return Err(ApiError::validation(
            "",
            "give failed_units (to judge a batch) or p_item (for the pass probability), or both",
        ));
    }
    let outcome = match &failed {
        Some(f) => Some(plan.judge(f, &reinspection).map_err(body_plan_err)?),
        None => None,
    };
    let pass = match &p_item {
        Some(p) => Some(plan.pass_probability(p).map_err(body_plan_err)?),
        None => None,
    };
    Ok(axum::Json(json!({
        "test_units": plan.test_units,
        "reserve_units": plan.reserve_units,
        "units_sampled": plan.units_sampled(),
        "items": plan.items,
        "outcome": outcome,
        "pass_probability": pass,
    }))
    .into_response())
}

fn switching_id(org: &OrgId, product: &str, supplier: &str) -> String {
    let mut h = Sha256::new();
    for part in [org.as_str(), product, supplier] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    hex::encode(h.finalize())
}

fn switching_view(sw: &Switching, lots: u64, history: &[Value]) -> Value {
    json!({
        "product": sw.product,
        "supplier": sw.supplier,
        "standard": sw.standard,
        "level": sw.level.as_str(),
        "aql": Aql::from_index(sw.aql_index).map(|a| a.as_str()),
        "scheme": sw.scheme,
        "state": sw.state,
        "switching_score": sw.score,
        "lots_recorded": lots,
        "recent_lots": history,
    })
}

async fn load_switching(
    state: &AppState,
    p: &Principal,
    product: &str,
    supplier: &str,
) -> Result<Option<(Record, Switching)>, ApiError> {
    let id = switching_id(&p.org, product, supplier);
    let scope = p.own_scope();
    let rec = blocking(state, move |s| s.get_record(&scope, SWITCHING, &id)).await?;
    match rec {
        None => Ok(None),
        Some(r) => {
            let sw: Switching = serde_json::from_value(r.body["machine"].clone())
                .map_err(|e| ApiError::Internal(format!("switching state: {e}")))?;
            Ok(Some((r, sw)))
        }
    }
}

async fn switching_get(
    State(state): State<AppState>,
    p: Principal,
    Path((product, supplier)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    require(
        &p,
        &[Role::Regulator, Role::Enterprise, Role::Admin],
        "use switching rules",
    )?;
    let q = query_map(&state, raw.as_deref(), &["lot_size"])?;
    let (rec, sw) = load_switching(&state, &p, &product, &supplier)
        .await?
        .ok_or_else(|| {
            ApiError::NoSuchResource("no lot recorded for this product and supplier".into())
        })?;
    let mut out = rec.body["view"].clone();
    if let Some(lot) = q_u64(&q, "lot_size")? {
        let plan = sw.current_plan(lot).map_err(query_err)?;
        out["plan"] = plan.as_ref().map(plan_json).unwrap_or(Value::Null);
    }
    Ok(axum::Json(out).into_response())
}

/// Apply `f` to the stored switching state (created by `init` when missing) with optimistic
/// concurrency: a concurrent update makes the whole step run again on the new state.
async fn update_switching(
    state: &AppState,
    p: &Principal,
    product: String,
    supplier: String,
    init: Option<Switching>,
    f: impl Fn(&mut Switching) -> Result<Value, ApiError> + Send + Sync + 'static,
    lot: Option<Value>,
) -> Result<Value, ApiError> {
    for _ in 0..5 {
        let loaded = load_switching(state, p, &product, &supplier).await?;
        let (version, mut sw, mut lots, mut history) = match loaded {
            Some((r, sw)) => {
                let lots = r.body["view"]["lots_recorded"].as_u64().unwrap_or(0);
                let history = r.body["view"]["recent_lots"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                (r.version, sw, lots, history)
            }
            None => match &init {
                Some(sw) => (0, sw.clone(), 0, Vec::new()),
                None => {
                    return Err(ApiError::NoSuchResource(
                        "no lot recorded for this product and supplier".into(),
                    ));
                }
            },
        };
        let result = f(&mut sw)?;
        if let Some(l) = &lot {
            lots += 1;
            let mut entry = l.clone();
            entry["lot_accepted"] = result["lot_accepted"].clone();
            entry["state_after"] = json!(sw.state);
            history.push(entry);
            if history.len() > LOT_HISTORY_MAX {
                let cut = history.len() - LOT_HISTORY_MAX;
                history.drain(..cut);
            }
        }
        let view = switching_view(&sw, lots, &history);
        let record = NewRecord {
            collection: SWITCHING.into(),
            id: switching_id(&p.org, &product, &supplier),
            owner: Some(p.org.clone()),
            updated_ms: state.now_ms(),
            body: json!({
                "machine": serde_json::to_value(&sw).map_err(|e| ApiError::Internal(e.to_string()))?,
                "view": view,
            }),
        };
        match blocking(state, move |s| s.put_record(record, Some(version))).await {
            Ok(_) => {
                let mut out = result;
                out["switching"] = view;
                return Ok(out);
            }
            Err(ApiError::AlreadyExists(_)) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(ApiError::Internal(
        "switching state: too many concurrent updates".into(),
    ))
}

fn check_path_text(name: &str, v: &str) -> Result<(), ApiError> {
    check_text(&format!("{{{name}}}"), v)
}

/// A plan setting of a lot body, with its default.
fn setting<T>(
    o: &Obj<'_>,
    name: &str,
    default: &str,
    parse: fn(&str) -> Result<T, PlanError>,
) -> Result<T, ApiError> {
    let given = o.opt_str(name)?;
    parse(given.as_deref().unwrap_or(default)).map_err(body_plan_err)
}

async fn switching_lot(
    State(state): State<AppState>,
    p: Principal,
    Path((product, supplier)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    require(
        &p,
        &[Role::Regulator, Role::Enterprise],
        "record lot results",
    )?;
    check_path_text("product", &product)?;
    check_path_text("supplier", &supplier)?;
    let v = json_body(&headers, body, state.limits.small_body_bytes_max).await?;
    let o = Obj::new(
        &v,
        "",
        &[
            "lot",
            "lot_size",
            "nonconforming",
            "second_sample",
            "production_steady",
            "authority_approves_reduced",
            "standard",
            "level",
            "aql",
            "scheme",
        ],
    )?;
    let lot_label = o.opt_str("lot")?;
    let lot = LotResult {
        lot_size: o
            .opt_u64("lot_size", plans::LOT_SIZE_MAX)?
            .filter(|n| *n >= 2)
            .ok_or_else(|| ApiError::validation("/lot_size", "required: an integer 2 to 10^12"))?,
        first_sample: o
            .opt_u64("nonconforming", u64::from(u32::MAX))?
            .ok_or_else(|| {
                ApiError::validation(
                    "/nonconforming",
                    "required: nonconforming units in the (first) sample",
                )
            })? as u32,
        second_sample: o
            .opt_u64("second_sample", u64::from(u32::MAX))?
            .map(|n| n as u32),
        production_steady: o.opt_bool("production_steady")?.unwrap_or(true),
        authority_approves_reduced: o.opt_bool("authority_approves_reduced")?.unwrap_or(false),
    };
    let standard = setting(&o, "standard", "gb2828", Standard::parse)?;
    let level = setting(&o, "level", "II", Level::parse)?;
    let scheme = setting(&o, "scheme", "single", Scheme::parse)?;
    let aql = o
        .opt_str("aql")?
        .map(|a| Aql::parse(&a))
        .transpose()
        .map_err(body_plan_err)?;
    let given = (
        o.get("standard").is_some(),
        o.get("level").is_some(),
        o.get("scheme").is_some(),
    );
    let init = aql.map(|a| Switching::new(&product, &supplier, standard, level, a, scheme));
    let lot_json = json!({
        "lot": lot_label,
        "lot_size": lot.lot_size,
        "nonconforming": lot.first_sample,
        "second_sample": lot.second_sample,
        "recorded_ms": state.now_ms(),
    });
    let out = update_switching(
        &state,
        &p,
        product,
        supplier,
        init,
        move |sw| {
            // Settings given with a later lot must agree with the state's.
            let mismatch = |field: &str, ours: String| {
                ApiError::validation(
                    &format!("/{field}"),
                    format!("must match this product and supplier's switching state ({ours}) or be left out"),
                )
            };
            if given.0 && sw.standard != standard {
                return Err(mismatch("standard", format!("{:?}", sw.standard)));
            }
            if given.1 && sw.level != level {
                return Err(mismatch("level", sw.level.as_str().into()));
            }
            if given.2 && sw.scheme != scheme {
                return Err(mismatch("scheme", format!("{:?}", sw.scheme)));
            }
            if let Some(a) = aql
                && a.index() != sw.aql_index
            {
                return Err(mismatch(
                    "aql",
                    Aql::from_index(sw.aql_index)
                        .map(|a| a.as_str().to_string())
                        .unwrap_or_default(),
                ));
            }
            let current = sw.current_plan(lot.lot_size).map_err(body_plan_err)?;
            let next = sw.record_lot(&lot).map_err(body_plan_err)?;
            Ok(json!({
                "lot_accepted": next.lot_accepted,
                "judged_with": current.as_ref().map(plan_json),
                "state": next.state,
                "switching_score": next.switching_score,
                "transition": next.transition.map(|(from, to, why)| json!({"from": from, "to": to, "reason": why})),
                "next_plan": next.plan.as_ref().map(plan_json),
            }))
        },
        Some(lot_json),
    )
    .await
    .map_err(|e| match e {
        ApiError::NoSuchResource(_) => ApiError::validation(
            "/aql",
            "required with the first lot of a product and supplier (also standard, level, scheme, or their defaults gb2828, II, single)",
        ),
        other => other,
    })?;
    Ok(axum::Json(out).into_response())
}

async fn switching_resume(
    State(state): State<AppState>,
    p: Principal,
    Path((product, supplier)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    require(
        &p,
        &[Role::Regulator, Role::Enterprise],
        "record lot results",
    )?;
    let out = update_switching(
        &state,
        &p,
        product,
        supplier,
        None,
        |sw| {
            sw.resume().map_err(body_plan_err)?;
            Ok(json!({ "state": sw.state }))
        },
        None,
    )
    .await?;
    Ok(axum::Json(out).into_response())
}

// ----- registers -----

fn check_target(at: &str, t: &Target) -> Result<(), ApiError> {
    check_text(&format!("{at}/id"), &t.id)?;
    check_text(&format!("{at}/organisation"), &t.organisation)?;
    check_text(&format!("{at}/region"), &t.region)?;
    check_text(&format!("{at}/industry"), &t.industry)?;
    check_text(&format!("{at}/risk_class"), &t.risk_class)?;
    check_list(&format!("{at}/products"), &t.products)
}

fn check_inspector(at: &str, i: &Inspector) -> Result<(), ApiError> {
    check_text(&format!("{at}/id"), &i.id)?;
    check_text(&format!("{at}/region"), &i.region)?;
    check_list(&format!("{at}/qualifications"), &i.qualifications)?;
    check_list(&format!("{at}/affiliations"), &i.affiliations)?;
    check_list(&format!("{at}/conflicts"), &i.conflicts)
}

fn check_list(at: &str, l: &[String]) -> Result<(), ApiError> {
    if l.len() > draw::LIST_MAX {
        return Err(ApiError::validation(
            at,
            format!("at most {} entries", draw::LIST_MAX),
        ));
    }
    l.iter()
        .enumerate()
        .try_for_each(|(i, s)| check_text(&format!("{at}/{i}"), s))
}

fn target_id(t: &Target) -> &str {
    &t.id
}

fn inspector_id(i: &Inspector) -> &str {
    &i.id
}

fn target_from_json(v: &Value, at: &str) -> Result<Target, ApiError> {
    let o = Obj::new(
        v,
        at,
        &[
            "id",
            "organisation",
            "products",
            "region",
            "industry",
            "risk_class",
        ],
    )?;
    Ok(Target {
        id: o.str("id")?,
        organisation: o.str("organisation")?,
        products: o.list("products")?,
        region: o.str("region")?,
        industry: o.str("industry")?,
        risk_class: o.str("risk_class")?,
    })
}

fn inspector_from_json(v: &Value, at: &str) -> Result<Inspector, ApiError> {
    let o = Obj::new(
        v,
        at,
        &[
            "id",
            "region",
            "qualifications",
            "affiliations",
            "conflicts",
        ],
    )?;
    Ok(Inspector {
        id: o.str("id")?,
        region: o.str("region")?,
        qualifications: o.list("qualifications")?,
        affiliations: o.list("affiliations")?,
        conflicts: o.list("conflicts")?,
    })
}

/// Rows of a register import: CSV (`text/csv`) or JSON (an array, or `{"<key>": [...]}`).
async fn register_rows<T>(
    headers: &HeaderMap,
    body: Body,
    key: &str,
    from_csv: fn(&[u8]) -> Result<Vec<T>, DrawError>,
    from_json: fn(&Value, &str) -> Result<T, ApiError>,
    check: fn(&str, &T) -> Result<(), ApiError>,
    id_of: fn(&T) -> &str,
) -> Result<Vec<T>, ApiError> {
    let mt = media_type(headers);
    if mt != "text/csv" && mt != "application/json" {
        return Err(ApiError::UnsupportedMediaType(format!(
            "Content-Type: must be text/csv or application/json, got {mt}"
        )));
    }
    let bytes = read_body(headers, body, REGISTER_BODY_MAX).await?;
    let (rows, base) = if mt == "text/csv" {
        let rows = from_csv(&bytes).map_err(draw_err)?;
        (rows, "/rows".to_string())
    } else {
        let v: Value = serde_json::from_slice(&bytes)
            .map_err(|e| ApiError::validation("", format!("the body must be JSON: {e}")))?;
        let (arr, base) = match &v {
            Value::Array(a) => (a, String::new()),
            Value::Object(m) => (
                m.get(key).and_then(Value::as_array).ok_or_else(|| {
                    ApiError::validation(&format!("/{key}"), "required: an array of rows")
                })?,
                format!("/{key}"),
            ),
            _ => {
                return Err(ApiError::validation(
                    "",
                    format!("must be an array of rows or {{\"{key}\": [...]}}"),
                ));
            }
        };
        if arr.len() > REGISTER_ROWS_MAX {
            return Err(ApiError::PayloadTooLarge(format!(
                "{} rows; at most {REGISTER_ROWS_MAX} rows per import",
                arr.len()
            )));
        }
        let rows = arr
            .iter()
            .enumerate()
            .map(|(i, r)| from_json(r, &format!("{base}/{i}")))
            .collect::<Result<Vec<T>, _>>()?;
        (rows, base)
    };
    if rows.is_empty() {
        return Err(ApiError::validation(&base, "at least one row"));
    }
    if rows.len() > REGISTER_ROWS_MAX {
        return Err(ApiError::PayloadTooLarge(format!(
            "{} rows; at most {REGISTER_ROWS_MAX} rows per import",
            rows.len()
        )));
    }
    let mut seen = HashSet::new();
    for (i, r) in rows.iter().enumerate() {
        let at = format!("{base}/{i}");
        check(&at, r)?;
        if !seen.insert(id_of(r).to_string()) {
            return Err(ApiError::validation(
                &format!("{at}/id"),
                format!("duplicate id {:?} in this import", id_of(r)),
            ));
        }
    }
    Ok(rows)
}

async fn store_rows<T: Serialize + Send + Sync + 'static>(
    state: &AppState,
    p: &Principal,
    collection: &'static str,
    rows: Vec<T>,
    id_of: fn(&T) -> &str,
) -> Result<Response, ApiError> {
    let owner = p.org.clone();
    let now = state.now_ms();
    let n = rows.len();
    blocking(state, move |s| {
        for r in &rows {
            s.put_record(
                NewRecord {
                    collection: collection.into(),
                    id: id_of(r).to_string(),
                    owner: Some(owner.clone()),
                    updated_ms: now,
                    body: serde_json::to_value(r).map_err(internal)?,
                },
                None,
            )?;
        }
        Ok(())
    })
    .await?;
    Ok(axum::Json(json!({ "collection": collection, "imported": n })).into_response())
}

async fn import_targets(
    State(state): State<AppState>,
    p: Principal,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    require(&p, WRITERS, "import registers")?;
    let rows = register_rows(
        &headers,
        body,
        "targets",
        sampling::import::targets_from_csv,
        target_from_json,
        check_target,
        target_id,
    )
    .await?;
    store_rows(&state, &p, TARGETS, rows, target_id).await
}

async fn import_inspectors(
    State(state): State<AppState>,
    p: Principal,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    require(&p, WRITERS, "import registers")?;
    let rows = register_rows(
        &headers,
        body,
        "inspectors",
        sampling::import::inspectors_from_csv,
        inspector_from_json,
        check_inspector,
        inspector_id,
    )
    .await?;
    store_rows(&state, &p, INSPECTORS, rows, inspector_id).await
}

async fn list_targets(
    State(state): State<AppState>,
    p: Principal,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    require(&p, READERS, "read registers")?;
    let (page, _) = paging(&state, raw.as_deref(), &[])?;
    list_page(
        &state,
        p.scope(),
        TARGETS,
        "/api/sampling/targets",
        page,
        |_| true,
    )
    .await
}

async fn list_inspectors(
    State(state): State<AppState>,
    p: Principal,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    require(&p, READERS, "read registers")?;
    let (page, _) = paging(&state, raw.as_deref(), &[])?;
    list_page(
        &state,
        p.scope(),
        INSPECTORS,
        "/api/sampling/inspectors",
        page,
        |_| true,
    )
    .await
}

// ----- draws -----

/// The population snapshot and rules of a committed draw, as stored.
struct StoredTask {
    task: DrawTask,
    commitment: Commitment,
    body: Value,
}

fn load_task(s: &dyn Store, scope: &Scope, id: &str) -> Result<Option<StoredTask>, StoreError> {
    let Some(rec) = s.get_record(scope, TASKS, id)? else {
        return Ok(None);
    };
    let b = rec.body;
    let de = |k: &str| internal(format!("draw task {id}: field {k}"));
    let rules: Rules = serde_json::from_value(b["rules"].clone()).map_err(|_| de("rules"))?;
    let beacon: BeaconSpec =
        serde_json::from_value(b["beacon"].clone()).map_err(|_| de("beacon"))?;
    let commitment: Commitment =
        serde_json::from_value(b["commitment"].clone()).map_err(|_| de("commitment"))?;
    let targets = get_chunks(
        s,
        scope,
        &format!("{id}/targets"),
        b["snapshot"]["targets_chunks"].as_u64().unwrap_or(0),
    )?;
    let inspectors = get_chunks(
        s,
        scope,
        &format!("{id}/inspectors"),
        b["snapshot"]["inspectors_chunks"].as_u64().unwrap_or(0),
    )?;
    let task = DrawTask {
        id: id.to_string(),
        targets,
        inspectors,
        rules,
        seed_commitment: b["seed_commitment"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        beacon,
    };
    Ok(Some(StoredTask {
        task,
        commitment,
        body: b,
    }))
}

fn load_draw(s: &dyn Store, scope: &Scope, id: &str) -> Result<Option<Draw>, StoreError> {
    let Some(rec) = s.get_record(scope, DRAWS, id)? else {
        return Ok(None);
    };
    let selections: Vec<Selection> = get_chunks(
        s,
        scope,
        &format!("{id}/selections"),
        rec.body["selections_chunks"].as_u64().unwrap_or(0),
    )?;
    let proof = serde_json::from_value(rec.body["proof"].clone())
        .map_err(|e| internal(format!("draw {id}: proof: {e}")))?;
    Ok(Some(Draw {
        task_id: id.to_string(),
        selections,
        proof,
    }))
}

fn no_draw(id: &str) -> ApiError {
    ApiError::NoSuchResource(format!("no draw task {id:?}"))
}

async fn create_draw(
    State(state): State<AppState>,
    p: Principal,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    require(&p, WRITERS, "create draws")?;
    let v = json_body(&headers, body, BODY_MAX).await?;
    let o = Obj::new(&v, "", &["id", "rules", "seed_commitment", "beacon"])?;
    let id = o.str("id")?;
    check_id("/id", &id)?;
    if let Some(r) = o.get("rules") {
        Obj::new(
            r,
            "/rules",
            &[
                "filter",
                "ratio_ppm",
                "inspectors_per_target",
                "workload_cap",
                "region_rule",
                "require_qualification",
            ],
        )?;
        if let Some(f) = r.get("filter") {
            Obj::new(
                f,
                "/rules/filter",
                &["regions", "industries", "risk_classes", "products"],
            )?;
        }
    }
    let rules: Rules = o.typed("rules")?;
    let beacon: BeaconSpec = o.typed("beacon")?;
    let seed_commitment = o.str("seed_commitment")?;
    let owner = p.org.clone();
    let now = state.now_ms();
    let out = blocking(&state, move |s| {
        if s.get_record(&Scope::All, TASKS, &id)?.is_some() {
            return Ok(Err(ApiError::AlreadyExists(format!(
                "a draw task {id:?} exists"
            ))));
        }
        let targets: Vec<Target> = register(s, &Scope::All, TARGETS, POPULATION_TARGETS_MAX)?;
        let inspectors: Vec<Inspector> =
            register(s, &Scope::All, INSPECTORS, POPULATION_INSPECTORS_MAX)?;
        let task = DrawTask {
            id: id.clone(),
            targets,
            inspectors,
            rules,
            seed_commitment,
            beacon,
        };
        let commitment = match draw::commit(&task) {
            Ok(c) => c,
            Err(e) => return Ok(Err(draw_err(e))),
        };
        // The snapshot stays the regulator's until the draw runs (then it is published).
        let tc = put_chunks(
            s,
            &format!("{id}/targets"),
            &task.targets,
            Some(&owner),
            now,
            false,
        )?;
        let ic = put_chunks(
            s,
            &format!("{id}/inspectors"),
            &task.inspectors,
            Some(&owner),
            now,
            false,
        )?;
        let body = json!({
            "id": id,
            "created_ms": now,
            "created_by": owner.as_str(),
            "rules": task.rules,
            "seed_commitment": task.seed_commitment,
            "beacon": task.beacon,
            "commitment": commitment,
            "snapshot": {
                "targets": task.targets.len(),
                "inspectors": task.inspectors.len(),
                "targets_chunks": tc,
                "inspectors_chunks": ic,
            },
        });
        // The commitment is public from now on (before the randomness exists).
        s.put_record(
            NewRecord {
                collection: TASKS.into(),
                id: id.clone(),
                owner: None,
                updated_ms: now,
                body: body.clone(),
            },
            Some(0),
        )?;
        Ok(Ok(body))
    })
    .await??;
    let id = out["id"].as_str().unwrap_or_default().to_string();
    let mut resp = (StatusCode::CREATED, axum::Json(task_view(&out, None))).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("/api/draws/{id}")) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    Ok(resp)
}

/// What GET /api/draws/{id} shows: the published task and commitment, and the draw if run.
fn task_view(body: &Value, drawn: Option<&Draw>) -> Value {
    json!({
        "id": body["id"],
        "status": if drawn.is_some() || body.get("drawn_ms").is_some() { "drawn" } else { "committed" },
        "created_ms": body["created_ms"],
        "rules": body["rules"],
        "seed_commitment": body["seed_commitment"],
        "beacon": body["beacon"],
        "population": {
            "targets": body["snapshot"]["targets"],
            "inspectors": body["snapshot"]["inspectors"],
            "targets_hash": body["commitment"]["targets_hash"],
            "inspectors_hash": body["commitment"]["inspectors_hash"],
        },
        "commitment": body["commitment"],
        "draw": drawn,
    })
}

async fn run_draw(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    require(&p, WRITERS, "run draws")?;
    let v = json_body(&headers, body, state.limits.small_body_bytes_max).await?;
    let o = Obj::new(&v, "", &["seed", "beacon"])?;
    let seed = o.str("seed")?;
    let beacon: BeaconValue = o.typed("beacon")?;
    let now = state.now_ms();
    let out = blocking(&state, move |s| {
        let Some(st) = load_task(s, &Scope::All, &id)? else {
            return Ok(Err(no_draw(&id)));
        };
        if s.get_record(&Scope::All, DRAWS, &id)?.is_some() {
            return Ok(Err(ApiError::AlreadyExists(format!(
                "draw {id:?} has been run; a draw runs once"
            ))));
        }
        let d = match draw::run_draw(&st.task, &Randomness { seed, beacon }) {
            Ok(d) => d,
            Err(e) => return Ok(Err(draw_err(e))),
        };
        // Publish: the population snapshot, then the selections, the task record, and last the
        // draw record (the commit point: a crash before it leaves a task that can be run again).
        for (part, count) in [
            ("targets", &st.body["snapshot"]["targets_chunks"]),
            ("inspectors", &st.body["snapshot"]["inspectors_chunks"]),
        ] {
            for n in 0..count.as_u64().unwrap_or(0) {
                publish_record(s, SNAPSHOTS, &format!("{id}/{part}/{n:06}"), now)?;
            }
        }
        let n = put_chunks(
            s,
            &format!("{id}/selections"),
            &d.selections,
            None,
            now,
            true,
        )?;
        let mut task_body = st.body.clone();
        task_body["drawn_ms"] = json!(now);
        s.put_record(
            NewRecord {
                collection: TASKS.into(),
                id: id.clone(),
                owner: None,
                updated_ms: now,
                body: task_body.clone(),
            },
            None,
        )?;
        s.put_record(
            NewRecord {
                collection: DRAWS.into(),
                id: id.clone(),
                owner: None,
                updated_ms: now,
                body: json!({
                    "task_id": id,
                    "drawn_ms": now,
                    "selections": d.selections.len(),
                    "selections_chunks": n,
                    "proof": d.proof,
                }),
            },
            Some(0),
        )?;
        Ok(Ok(task_view(&task_body, Some(&d))))
    })
    .await??;
    Ok(axum::Json(out).into_response())
}

/// Re-store a record without owner (published), keeping its body.
fn publish_record(s: &dyn Store, collection: &str, id: &str, now: i64) -> Result<(), StoreError> {
    let rec = s
        .get_record(&Scope::All, collection, id)?
        .ok_or_else(|| internal(format!("{collection} {id} is missing")))?;
    if rec.owner.is_none() {
        return Ok(());
    }
    s.put_record(
        NewRecord {
            collection: collection.into(),
            id: id.into(),
            owner: None,
            updated_ms: now,
            body: rec.body,
        },
        Some(rec.version),
    )?;
    Ok(())
}

/// For an enterprise key: the selections whose target belongs to its own organisation
/// (looked up in the published population snapshot).
fn selections_of_org(
    s: &dyn Store,
    scope: &Scope,
    task_body: &Value,
    d: &Draw,
    org: &OrgId,
) -> Result<Vec<Selection>, StoreError> {
    let targets: Vec<Target> = get_chunks(
        s,
        scope,
        &format!("{}/targets", d.task_id),
        task_body["snapshot"]["targets_chunks"]
            .as_u64()
            .unwrap_or(0),
    )?;
    let mine: HashSet<&str> = targets
        .iter()
        .filter(|t| t.organisation == org.as_str())
        .map(|t| t.id.as_str())
        .collect();
    Ok(d.selections
        .iter()
        .filter(|x| mine.contains(x.target_id.as_str()))
        .cloned()
        .collect())
}

async fn list_draws(
    State(state): State<AppState>,
    p: Principal,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    require(&p, DRAW_PUBLIC, "read draws")?;
    let (page, _) = paging(&state, raw.as_deref(), &[])?;
    list_page_with(
        &state,
        p.scope(),
        TASKS,
        "/api/draws",
        page,
        |_| true,
        |b| {
            let mut v = task_view(&b, None);
            if let Some(m) = v.as_object_mut() {
                m.remove("draw");
            }
            v
        },
    )
    .await
}

/// Everything needed to re-derive a draw offline: `task` (the population snapshot, rules, seed
/// commitment and beacon: `zhiliang draw verify --task`), `commitment` (as published before the
/// draw: `--commitment`) and `draw` (selections and proof, which carries the revealed randomness).
async fn draw_material(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    require(&p, DRAW_PUBLIC, "read draws")?;
    let scope = p.scope();
    let reader = READERS.contains(&p.role);
    let out = blocking(&state, move |s| {
        if s.get_record(&scope, TASKS, &id)?.is_none() {
            return Ok(Err(no_draw(&id)));
        }
        let d = load_draw(s, &scope, &id)?;
        if d.is_none() && !reader {
            return Ok(Err(ApiError::NoSuchResource(format!(
                "draw {id:?} has not been run: its population snapshot is published with the draw"
            ))));
        }
        let Some(st) = load_task(s, &scope, &id)? else {
            return Ok(Err(no_draw(&id)));
        };
        Ok(Ok(json!({
            "task": st.task,
            "commitment": st.commitment,
            "draw": d,
        })))
    })
    .await??;
    Ok(axum::Json(out).into_response())
}

async fn get_draw(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    require(&p, DRAW_PUBLIC, "read draws")?;
    let scope = p.scope();
    let enterprise = (p.role == Role::Enterprise).then(|| p.org.clone());
    let out = blocking(&state, move |s| {
        let Some(rec) = s.get_record(&scope, TASKS, &id)? else {
            return Ok(None);
        };
        let d = load_draw(s, &scope, &id)?;
        let mut v = task_view(&rec.body, d.as_ref());
        if let Some(org) = enterprise {
            let mine = match &d {
                Some(d) => Some(selections_of_org(s, &scope, &rec.body, d, &org)?),
                None => None,
            };
            v["selections_concerning_you"] = json!(mine);
        }
        Ok(Some(v))
    })
    .await?;
    out.map(|v| axum::Json(v).into_response())
        .ok_or_else(|| ApiError::NoSuchResource("no such draw task".into()))
}

async fn verify_draw(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    require(&p, DRAW_PUBLIC, "verify draws")?;
    let scope = p.scope();
    let reader = READERS.contains(&p.role);
    let out = blocking(&state, move |s| {
        if s.get_record(&scope, TASKS, &id)?.is_none() {
            return Ok(Err(no_draw(&id)));
        }
        let Some(d) = load_draw(s, &scope, &id)? else {
            return Ok(Err(ApiError::NoSuchResource(format!(
                "draw {id:?} has not been run: nothing to verify"
            ))));
        };
        let Some(st) = load_task(s, &scope, &id)? else {
            return Ok(Err(no_draw(&id)));
        };
        let published = Published {
            commitment: st.commitment.clone(),
            task: st.task,
            randomness: d.proof.randomness.clone(),
        };
        let diffs = match draw::verify(&d, &published) {
            Ok(()) => Vec::new(),
            Err(diffs) => diffs,
        };
        let mut out = json!({
            "id": id,
            "result": if diffs.is_empty() { "OK" } else { "DIFFERS" },
            "ok": diffs.is_empty(),
            "differences": diffs,
            "commitment": st.commitment.commitment,
        });
        if !reader {
            return Ok(Ok(out));
        }
        // The registers as they are now, beside the committed snapshot (informational: registers
        // may change after a draw; the draw is checked against its snapshot).
        let now_targets: Vec<Target> = register(s, &scope, TARGETS, POPULATION_TARGETS_MAX)?;
        let now_inspectors: Vec<Inspector> =
            register(s, &scope, INSPECTORS, POPULATION_INSPECTORS_MAX)?;
        let current = json!({
            "targets_hash": hex::encode(draw::targets_hash(&now_targets)),
            "inspectors_hash": hex::encode(draw::inspectors_hash(&now_inspectors)),
        });
        let unchanged = current["targets_hash"] == json!(published.commitment.targets_hash)
            && current["inspectors_hash"] == json!(published.commitment.inspectors_hash);
        out["current_registers"] = json!({
            "targets_hash": current["targets_hash"],
            "inspectors_hash": current["inspectors_hash"],
            "same_as_committed": unchanged,
        });
        Ok(Ok(out))
    })
    .await??;
    Ok(axum::Json(out).into_response())
}

// ----- inspection results -----

const RESULT_FIELDS: &[&str] = &[
    "id",
    "draw_id",
    "target_id",
    "organisation",
    "product",
    "category",
    "region",
    "enterprise_size",
    "date",
    "lot",
    "sample_size",
    "reserve_units",
    "items_tested",
    "standard",
    "clause",
    "outcome",
    "nonconformities",
    "nonconforming_items",
    "lab",
];

fn result_from_json(
    v: &Value,
    at: &str,
    now: i64,
    by: &OrgId,
) -> Result<(String, Value), ApiError> {
    let o = Obj::new(v, at, RESULT_FIELDS)?;
    let id = match o.opt_str("id")? {
        Some(id) => {
            check_id(&o.ptr("id"), &id)?;
            id
        }
        None => {
            let mut r = [0u8; 12];
            rand::fill(&mut r);
            format!("insp-{}", hex::encode(r))
        }
    };
    if let Some(d) = o.opt_str("draw_id")? {
        check_id(&o.ptr("draw_id"), &d)?;
    }
    let date = o.str("date")?;
    check_date(&o.ptr("date"), &date)?;
    let outcome = o.str("outcome")?;
    if !matches!(outcome.as_str(), "pass" | "fail" | "nottested") {
        return Err(ApiError::validation(
            &o.ptr("outcome"),
            "must be pass, fail or nottested",
        ));
    }
    let items = o.list("nonconforming_items")?;
    if outcome != "fail" && !items.is_empty() {
        return Err(ApiError::validation(
            &o.ptr("nonconforming_items"),
            "must be empty unless outcome is fail (any failed item fails the batch)",
        ));
    }
    let nonconf = o
        .opt_u64("nonconformities", u64::from(u32::MAX))?
        .unwrap_or(items.len() as u64);
    let items_tested = o.opt_u64("items_tested", u64::from(u32::MAX))?.unwrap_or(0);
    if nonconf > 0 && outcome == "pass" {
        return Err(ApiError::validation(
            &o.ptr("nonconformities"),
            "must be 0 when outcome is pass (any failed item fails the batch)",
        ));
    }
    let body = json!({
        "id": id,
        "draw_id": o.opt_str("draw_id")?,
        "target_id": o.opt_str("target_id")?,
        "organisation": o.str("organisation")?,
        "product": o.str("product")?,
        "category": o.str("category")?,
        "region": o.str("region")?,
        "enterprise_size": o.opt_str("enterprise_size")?.unwrap_or_else(|| "unknown".into()),
        "date": date,
        "lot": o.opt_str("lot")?,
        "sample_size": o.opt_u64("sample_size", u64::from(u32::MAX))?,
        "reserve_units": o.opt_u64("reserve_units", u64::from(u32::MAX))?,
        "items_tested": items_tested,
        "standard": o.opt_str("standard")?,
        "clause": o.opt_str("clause")?,
        "outcome": outcome,
        "nonconformities": nonconf,
        "nonconforming_items": items,
        "lab": o.opt_str("lab")?,
        "published": false,
        "recorded_by": by.as_str(),
        "recorded_ms": now,
    });
    Ok((id, body))
}

async fn create_inspections(
    State(state): State<AppState>,
    p: Principal,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    require(&p, WRITERS, "record inspection results")?;
    let v = json_body(&headers, body, BODY_MAX).await?;
    let now = state.now_ms();
    let (list, base): (Vec<&Value>, &str) = match &v {
        Value::Array(a) => (a.iter().collect(), ""),
        other => (vec![other], ""),
    };
    if list.is_empty() || list.len() > RESULTS_PER_REQUEST_MAX {
        return Err(ApiError::validation(
            base,
            format!("one record or an array of 1 to {RESULTS_PER_REQUEST_MAX} records"),
        ));
    }
    let single = !v.is_array();
    let mut rows = Vec::with_capacity(list.len());
    let mut seen = HashSet::new();
    for (i, r) in list.iter().enumerate() {
        let at = if single {
            String::new()
        } else {
            format!("/{i}")
        };
        let (id, b) = result_from_json(r, &at, now, &p.org)?;
        if !seen.insert(id.clone()) {
            return Err(ApiError::validation(
                &format!("{at}/id"),
                format!("duplicate id {id:?} in this request"),
            ));
        }
        rows.push((id, b));
    }
    let owner = p.org.clone();
    let stored = rows.iter().map(|(_, b)| b.clone()).collect::<Vec<_>>();
    blocking(&state, move |s| {
        // Refuse the whole request if any id is taken (before writing anything).
        for (id, _) in &rows {
            if s.get_record(&Scope::All, RESULTS, id)?.is_some() {
                return Err(StoreError::Conflict {
                    collection: RESULTS.into(),
                    id: id.clone(),
                });
            }
        }
        for (id, b) in rows {
            s.put_record(
                NewRecord {
                    collection: RESULTS.into(),
                    id,
                    owner: Some(owner.clone()),
                    updated_ms: now,
                    body: b,
                },
                Some(0),
            )?;
        }
        Ok(())
    })
    .await
    .map_err(|e| match e {
        ApiError::AlreadyExists(_) => {
            ApiError::AlreadyExists("an inspection record with this id exists".into())
        }
        other => other,
    })?;
    let out = if single {
        stored.into_iter().next().unwrap_or(Value::Null)
    } else {
        Value::Array(stored)
    };
    Ok((StatusCode::CREATED, axum::Json(out)).into_response())
}

async fn publish_inspection(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    require(&p, WRITERS, "publish inspection results")?;
    let now = state.now_ms();
    let out = blocking(&state, move |s| {
        let Some(rec) = s.get_record(&Scope::All, RESULTS, &id)? else {
            return Ok(None);
        };
        let mut body = rec.body;
        if body["published"] == json!(true) && rec.owner.is_none() {
            return Ok(Some(body));
        }
        body["published"] = json!(true);
        body["published_ms"] = json!(now);
        s.put_record(
            NewRecord {
                collection: RESULTS.into(),
                id,
                owner: None,
                updated_ms: now,
                body: body.clone(),
            },
            Some(rec.version),
        )?;
        Ok(Some(body))
    })
    .await?
    .ok_or_else(|| ApiError::NoSuchResource("no such inspection record".into()))?;
    Ok(axum::Json(out).into_response())
}

async fn get_inspection(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let scope = p.scope();
    let rec = blocking(&state, move |s| s.get_record(&scope, RESULTS, &id))
        .await?
        .ok_or_else(|| ApiError::NoSuchResource("no such inspection record".into()))?;
    Ok(axum::Json(rec.body).into_response())
}

async fn list_inspections(
    State(state): State<AppState>,
    p: Principal,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let (page, q) = paging(&state, raw.as_deref(), &["org", "product", "published"])?;
    let org = q.get("org").cloned();
    let product = q.get("product").cloned();
    let published = match q.get("published").map(String::as_str) {
        None => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(_) => {
            return Err(ApiError::QueryParameter(
                "published: must be true or false".into(),
            ));
        }
    };
    list_page(
        &state,
        p.scope(),
        RESULTS,
        "/api/inspections",
        page,
        move |r| {
            org.as_deref()
                .is_none_or(|o| r.body["organisation"].as_str() == Some(o))
                && product
                    .as_deref()
                    .is_none_or(|x| r.body["product"].as_str() == Some(x))
                && published.is_none_or(|want| (r.owner.is_none()) == want)
        },
    )
    .await
}

// ----- statistics -----

fn record_of(body: &Value) -> Option<InspectionRecord> {
    let s = |k: &str| body[k].as_str().map(str::to_string);
    let outcome = match body["outcome"].as_str()? {
        "pass" => Outcome::Pass,
        "fail" => Outcome::Fail,
        "nottested" => Outcome::NotTested,
        _ => return None,
    };
    Some(InspectionRecord {
        category: s("category")?,
        region: s("region")?,
        enterprise_size: s("enterprise_size")?,
        date: s("date")?,
        outcome,
        items_tested: u32::try_from(body["items_tested"].as_u64().unwrap_or(0)).ok()?,
        nonconformities: u32::try_from(body["nonconformities"].as_u64().unwrap_or(0)).ok()?,
    })
}

/// Largest number of strata in one stratified estimate.
pub const STRATA_MAX: usize = 10_000;

/// Stratified estimate of a proportion with finite-population correction (pure crate's
/// `stats::stratified`): body {strata: [{name?, population, sampled, positive}], confidence?}.
async fn stratified(
    State(_state): State<AppState>,
    _p: Principal,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let v = json_body(&headers, body, BODY_MAX).await?;
    let o = Obj::new(&v, "", &["strata", "confidence"])?;
    let conf = match o.get("confidence") {
        None => 0.95,
        Some(c) => c
            .as_f64()
            .filter(|c| *c > 0.0 && *c < 1.0)
            .ok_or_else(|| ApiError::validation("/confidence", "must be a number in (0, 1)"))?,
    };
    let raw = o
        .get("strata")
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty() && a.len() <= STRATA_MAX)
        .ok_or_else(|| {
            ApiError::validation(
                "/strata",
                format!("required: an array of 1 to {STRATA_MAX} strata"),
            )
        })?;
    let mut strata = Vec::with_capacity(raw.len());
    let mut names = Vec::with_capacity(raw.len());
    for (i, x) in raw.iter().enumerate() {
        let so = Obj::new(
            x,
            &format!("/strata/{i}"),
            &["name", "population", "sampled", "positive"],
        )?;
        let need = |k: &str| -> Result<u64, ApiError> {
            so.opt_u64(k, 1_000_000_000_000)?
                .ok_or_else(|| ApiError::validation(&so.ptr(k), "required: an integer"))
        };
        let (population, sampled, positive) =
            (need("population")?, need("sampled")?, need("positive")?);
        if sampled < 2 {
            return Err(ApiError::validation(
                &so.ptr("sampled"),
                "must be at least 2 (a stratum variance needs two units)",
            ));
        }
        if sampled > population {
            return Err(ApiError::validation(
                &so.ptr("sampled"),
                "must be at most population",
            ));
        }
        if positive > sampled {
            return Err(ApiError::validation(
                &so.ptr("positive"),
                "must be at most sampled",
            ));
        }
        names.push(so.opt_str("name")?);
        strata.push(StratumSample {
            population,
            sampled,
            positive,
        });
    }
    let est = stats::stratified(&strata, conf).map_err(body_plan_err)?;
    let big_n: u64 = strata.iter().map(|s| s.population).sum();
    let per: Vec<Value> = strata
        .iter()
        .zip(&names)
        .map(|(s, name)| {
            json!({
                "name": name,
                "population": s.population,
                "sampled": s.sampled,
                "positive": s.positive,
                "weight": s.population as f64 / big_n as f64,
                "p": s.positive as f64 / s.sampled as f64,
            })
        })
        .collect();
    Ok(axum::Json(json!({
        "confidence": conf,
        "p": est.p,
        "p_unweighted": est.p_unweighted,
        "se_with_fpc": est.se_with_fpc,
        "se_without_fpc": est.se_without_fpc,
        "df": est.df,
        "ci_beta": est.ci_beta,
        "ci_logit": est.ci_logit,
        "strata": per,
    }))
    .into_response())
}

async fn pass_rates(
    State(state): State<AppState>,
    p: Principal,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let q = query_map(
        &state,
        raw.as_deref(),
        &["group_by", "from", "to", "format", "target", "published"],
    )?;
    let by: Vec<GroupBy> = q
        .get("group_by")
        .map(String::as_str)
        .unwrap_or("category")
        .split(',')
        .map(GroupBy::parse)
        .collect::<Result<_, _>>()
        .map_err(query_err)?;
    for k in ["from", "to"] {
        if let Some(d) = q.get(k) {
            check_date(k, d)
                .map_err(|_| ApiError::QueryParameter(format!("{k}: must be a date YYYY-MM-DD")))?;
        }
    }
    let target = match q.get("target") {
        None => None,
        Some(t) => Some(
            t.parse::<f64>()
                .ok()
                .filter(|x| (0.0..=1.0).contains(x))
                .ok_or_else(|| {
                    ApiError::QueryParameter("target: must be a proportion in [0, 1]".into())
                })?,
        ),
    };
    let published_only = match q.get("published").map(String::as_str) {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => {
            return Err(ApiError::QueryParameter(
                "published: must be true or false".into(),
            ));
        }
    };
    let svg = wants_svg(&q)?;
    let window = Window {
        from: q.get("from").cloned(),
        to: q.get("to").cloned(),
    };
    let scope = p.scope();
    let by2 = by.clone();
    let window2 = window.clone();
    let (groups, overall, n) = blocking(&state, move |s| {
        let records: Vec<InspectionRecord> =
            scan_map(s, &scope, RESULTS, STATS_RECORDS_MAX, |r| {
                if published_only && r.owner.is_some() {
                    return Ok(None);
                }
                Ok(record_of(&r.body).filter(|r| {
                    window2.from.as_deref().is_none_or(|f| r.date.as_str() >= f)
                        && window2.to.as_deref().is_none_or(|t| r.date.as_str() < t)
                }))
            })?;
        let n = records.len();
        let groups = stats::rollup(records.iter().map(|r| r.as_ref()), &by2, &window2);
        let overall = stats::rollup(records.iter().map(|r| r.as_ref()), &[], &window2);
        Ok((groups, overall, n))
    })
    .await?;
    let groups = groups.map_err(query_err)?;
    let overall = overall.map_err(query_err)?.into_iter().next();
    if svg {
        let labels: Vec<String> = groups.iter().map(|g| g.key.join(" / ")).collect();
        let bars: Vec<sampling::chart::RateBar<'_>> = groups
            .iter()
            .zip(&labels)
            .map(|(g, l)| sampling::chart::RateBar {
                label: l,
                rate: g.pass_rate,
                lo: g.pass_wilson_95.lo,
                hi: g.pass_wilson_95.hi,
            })
            .collect();
        let svg = sampling::chart::pass_rates_svg("Pass rates (Wilson 95 %)", &bars, target)
            .map_err(query_err)?;
        return Ok(svg_response(svg));
    }
    let batch_ratio = |g: &stats::GroupStats| {
        json!({
            "nonconforming": g.batches_failed,
            "sampled": g.batches_sampled,
            "tested": g.batches_tested,
            "ratio_sampled": g.nonconforming_ratio_sampled,
            "ratio_tested": g.nonconforming_ratio_tested,
        })
    };
    let group_json: Vec<Value> = groups
        .iter()
        .map(|g| {
            let mut v = serde_json::to_value(g).unwrap_or(Value::Null);
            v["batch_ratio"] = batch_ratio(g);
            v
        })
        .collect();
    let names: Vec<Value> = by.iter().map(|g| json!(g)).collect();
    Ok(axum::Json(json!({
        "group_by": names,
        "from": window.from,
        "to": window.to,
        "records": n,
        "groups": group_json,
        "overall": overall.as_ref().map(|g| {
            let mut v = serde_json::to_value(g).unwrap_or(Value::Null);
            v["batch_ratio"] = batch_ratio(g);
            v
        }),
    }))
    .into_response())
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
        path: "/api/sampling/plan",
        summary: "GB/T 2828.1 / ISO 2859-1 or ANSI Z1.4 sampling plan (code_letter, sample_size, accept, reject; stages for double plans)",
        query: &[
            ("lot_size", "lot size N (required)"),
            (
                "aql",
                "acceptance quality limit, a preferred value 0.010 … 1000 (required)",
            ),
            ("level", "S-1 … S-4, I, II (default), III"),
            ("inspection", "normal (default), tightened, reduced"),
            ("scheme", "single (default) or double"),
            ("standard", "gb2828 (default) or z14"),
        ],
        body: None,
        success: 200,
    },
    Doc {
        method: "get",
        path: "/api/sampling/oc",
        summary: "OC curve of a single plan: {\"points\": [{p, pa, aoq, ati}]}; format=svg draws it (image/svg+xml)",
        query: &[
            ("sample_size", "n (required)"),
            ("accept", "acceptance number c (required)"),
            (
                "p",
                "fractions nonconforming, comma-separated (required, at most 10000)",
            ),
            ("model", "binomial (default), poisson, hypergeometric"),
            (
                "lot_size",
                "lot size N (required for hypergeometric; gives ATI and AOQ with (N-n)/N)",
            ),
            ("format", "json (default) or svg"),
        ],
        body: None,
        success: 200,
    },
    Doc {
        method: "get",
        path: "/api/sampling/aoql",
        summary: "AOQL of a single plan under rectifying inspection (binomial Pa) and the p where it falls; AOQ and ATI per p are in /api/sampling/oc",
        query: &[
            ("sample_size", "n (required)"),
            ("accept", "Ac, less than n (required)"),
            ("lot_size", "N, at least n (required)"),
        ],
        body: None,
        success: 200,
    },
    Doc {
        method: "get",
        path: "/api/sampling/design",
        summary: "Plan design: the smallest single plan (sample_size, accept, reject) with Pa(p1) >= 1 - alpha and Pa(p2) <= beta, with the Pa reached at both points",
        query: &[
            ("p1", "producer's quality (AQL side), in (0, 1) (required)"),
            ("alpha", "producer's risk, in (0, 1) (required)"),
            (
                "p2",
                "consumer's quality (LTPD side), greater than p1 (required)",
            ),
            ("beta", "consumer's risk, less than 1 - alpha (required)"),
            ("model", "binomial (default), poisson or hypergeometric"),
            ("lot_size", "N, for the hypergeometric model"),
        ],
        body: None,
        success: 200,
    },
    Doc {
        method: "post",
        path: "/api/sampling/spot-check",
        summary: "National supervision spot check (not AQL sampling): judge a batch (any failed item fails it; a re-inspection of reserve units replaces the items it covers) and/or the probability that a batch passes",
        query: &[],
        body: Some(
            "{test_units, reserve_units?, items: [{name, standard_clause}], failed_units?: [count per item], reinspection?: [{item, failed}], p_item?: [probability per item]}",
        ),
        success: 200,
    },
    Doc {
        method: "get",
        path: "/api/sampling/switching/{product}/{supplier}",
        summary: "Switching state of a product and supplier (the caller's organisation's); lot_size gives the current plan",
        query: &[("lot_size", "lot size for the current plan")],
        body: None,
        success: 200,
    },
    Doc {
        method: "post",
        path: "/api/sampling/switching/{product}/{supplier}/lots",
        summary: "Record a lot result; returns acceptance, the state transition and the next plan (regulator or enterprise)",
        query: &[],
        body: Some(
            "{lot_size, nonconforming, second_sample?, production_steady? (true), authority_approves_reduced? (false), lot?, and with the first lot aql plus standard?, level?, scheme?}",
        ),
        success: 200,
    },
    Doc {
        method: "post",
        path: "/api/sampling/switching/{product}/{supplier}/resume",
        summary: "Resume discontinued inspection (at tightened) after corrective action",
        query: &[],
        body: None,
        success: 200,
    },
    Doc {
        method: "get",
        path: "/api/sampling/targets",
        summary: "Inspection target register (regulator, admin), paged",
        query: &[],
        body: None,
        success: 200,
    },
    Doc {
        method: "post",
        path: "/api/sampling/targets",
        summary: "Import targets (regulator): text/csv id,organisation,products,region,industry,risk_class (lists ;-separated) or JSON rows; upsert by id, at most 10000 rows",
        query: &[],
        body: Some(
            "text/csv or JSON array of {id, organisation, products, region, industry, risk_class}",
        ),
        success: 200,
    },
    Doc {
        method: "get",
        path: "/api/sampling/inspectors",
        summary: "Inspector register (regulator, admin), paged",
        query: &[],
        body: None,
        success: 200,
    },
    Doc {
        method: "post",
        path: "/api/sampling/inspectors",
        summary: "Import inspectors (regulator): text/csv id,region,qualifications,affiliations,conflicts or JSON rows; upsert by id",
        query: &[],
        body: Some(
            "text/csv or JSON array of {id, region, qualifications, affiliations, conflicts}",
        ),
        success: 200,
    },
    Doc {
        method: "get",
        path: "/api/draws",
        summary: "Draw tasks, public from their commitment on (every role): id, status, rules, snapshot hashes, seed commitment, beacon, commitment; paged",
        query: &[],
        body: None,
        success: 200,
    },
    Doc {
        method: "post",
        path: "/api/draws",
        summary: "Create a draw task (regulator): snapshots the registers and publishes the commitment (visible to every key at once)",
        query: &[],
        body: Some(
            "{id, rules: {filter?, ratio_ppm: {class: ppm}, inspectors_per_target, workload_cap, region_rule: any|same_region|other_region, require_qualification}, seed_commitment: hex SHA-256 of the secret seed, beacon: {kind: drand, chain_hash, round} | {kind: rfc3797, description}}",
        ),
        success: 201,
    },
    Doc {
        method: "get",
        path: "/api/draws/{id}",
        summary: "A draw task (every role): rules, population snapshot hashes, commitment, and the draw with its proof once run; enterprise keys also get selections_concerning_you",
        query: &[],
        body: None,
        success: 200,
    },
    Doc {
        method: "post",
        path: "/api/draws/{id}/run",
        summary: "Run the draw (regulator) with the revealed seed and the beacon value; once per task",
        query: &[],
        body: Some(
            "{seed: hex, beacon: {kind: drand, round, signature} | {kind: rfc3797, sources: [[numbers]]}}",
        ),
        success: 200,
    },
    Doc {
        method: "get",
        path: "/api/draws/{id}/verify",
        summary: "Re-derive the draw from the published commitment, snapshot and randomness (every role): ok, or every difference; regulators also see whether the live registers still equal the snapshot",
        query: &[],
        body: None,
        success: 200,
    },
    Doc {
        method: "get",
        path: "/api/draws/{id}/material",
        summary: "Verification material {task, commitment, draw} for `zhiliang draw verify` (every role once the draw has run; regulators and admins also before, with draw null)",
        query: &[],
        body: None,
        success: 200,
    },
    Doc {
        method: "post",
        path: "/api/inspections",
        summary: "Record inspection results (regulator): one record or an array of up to 1000",
        query: &[],
        body: Some(
            "{id?, draw_id?, target_id?, organisation, product, category, region, enterprise_size?, date YYYY-MM-DD, lot?, sample_size?, reserve_units?, items_tested?, standard?, clause?, outcome: pass|fail|nottested, nonconformities?, nonconforming_items?, lab?}",
        ),
        success: 201,
    },
    Doc {
        method: "get",
        path: "/api/inspections",
        summary: "Inspection results visible to the caller (public keys: published only), paged",
        query: &[
            ("org", "inspected organisation"),
            ("product", "product"),
            ("published", "true or false"),
        ],
        body: None,
        success: 200,
    },
    Doc {
        method: "get",
        path: "/api/inspections/{id}",
        summary: "One inspection result (public keys: published only)",
        query: &[],
        body: None,
        success: 200,
    },
    Doc {
        method: "post",
        path: "/api/inspections/{id}/publish",
        summary: "Publish an inspection result (regulator): it becomes visible to every key",
        query: &[],
        body: None,
        success: 200,
    },
    Doc {
        method: "get",
        path: "/api/statistics/pass-rates",
        summary: "Pass and nonconformity rates per group with Wilson and Clopper-Pearson 95 % intervals and the SAMR batch ratio over sampled and over tested batches; format=svg draws them",
        query: &[
            (
                "group_by",
                "comma-separated: category, region, size, period (= month), year, quarter, month",
            ),
            ("from", "first date included, YYYY-MM-DD"),
            ("to", "first date excluded, YYYY-MM-DD"),
            ("published", "true: published results only"),
            ("format", "json (default) or svg"),
            ("target", "target line on the chart, e.g. 0.98"),
        ],
        body: None,
        success: 200,
    },
    Doc {
        method: "post",
        path: "/api/statistics/stratified",
        summary: "Stratified estimate of a proportion (pass or nonconformity rate): p = sum W_h p_h with finite-population correction, SEs with and without it, beta and logit intervals as R survey computes them",
        query: &[],
        body: Some(
            "{strata: [{name?, population: N_h, sampled: n_h >= 2, positive: x_h}], confidence?: 0.95}",
        ),
        success: 200,
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
        let paged = d.method == "get"
            && matches!(
                d.path,
                "/api/sampling/targets"
                    | "/api/sampling/inspectors"
                    | "/api/inspections"
                    | "/api/draws"
            );
        if paged {
            parameters.push(json!({ "name": "perPage", "in": "query", "required": false, "schema": { "type": "string" } }));
            parameters.push(json!({ "name": "nextPageToken", "in": "query", "required": false, "description": "from the Link header of the previous page", "schema": { "type": "string" } }));
        }
        let mut responses = Map::new();
        responses.insert(
            d.success.to_string(),
            json!({ "description": if d.success == 201 { "Created" } else { "OK" } }),
        );
        crate::openapi::error_responses(&mut responses, d.path);
        if d.body.is_some() {
            responses.insert("409".into(), problem("ResourceAlreadyExistsException"));
            responses.insert("413".into(), problem("the body or list is over its limit"));
        }
        responses.insert("500".into(), problem("ImplementationException"));
        let mut op = json!({
            "summary": d.summary,
            "operationId": format!("{}{}", d.method, d.path.replace(['/', '{', '}', '.', '-'], "_")),
            "parameters": parameters,
            "responses": responses,
            "security": [{ "bearer": [] }],
            "tags": ["sampling"],
        });
        if let Some(b) = d.body {
            op["requestBody"] = json!({ "required": true, "description": b, "content": { "application/json": {} } });
            if d.path.starts_with("/api/sampling/targets")
                || d.path.starts_with("/api/sampling/inspectors")
            {
                op["requestBody"]["content"]["text/csv"] = json!({});
            }
        }
        let entry = paths.entry(d.path.to_string()).or_insert_with(|| json!({}));
        entry[d.method] = op;
    }
}
