//! Signals over stored reports, EU 2019/417 assessments, early-warning alerts and recall
//! proposals: the chain signal -> assessment -> recall as linked records.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use risk::assessment::{AssessmentInput, ScenarioInput, StepInput};
use risk::signal::{Contingency, ExpectedMethod, FitOptions, Method, Report, signals_csv};
use risk::warning::cusum::{CusumOptions, EwmaOptions, cusum, ewma};
use risk::warning::ears::{EarsMethod, EarsOptions, ears};
use risk::warning::farrington::{FarringtonOptions, farrington_flexible};
use serde_json::{Value, json};
use store::{NewRecord, Record, Role, Scope, StoreError};

use super::reports::{DESCRIPTION_MAX, Fields, TEXT_MAX, all_reports};
use super::{
    ALERTS, ASSESSMENTS, PROPOSALS, REGULATORS, REPORTS, SCAN_RECORDS_MAX, conflict, format_day,
    hash_parts, json_body, page_records, parse_day, q_day, query_map, require, risk_err,
};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::{AppState, blocking, output};

/// Most weeks in one scan (20 years).
pub const SCAN_WEEKS_MAX: i64 = 1040;
/// Report ids kept in an alert (those counted in its week).
pub const ALERT_REPORTS_MAX: usize = 100;
/// The `method` values of `POST /api/alerts/scan`.
pub const SCAN_METHODS: [&str; 7] = [
    "ears_c1",
    "ears_c2",
    "ears_c3",
    "cusum",
    "ewma",
    "farrington",
    "space_time_scan",
];

// ----- signals -----

fn parse_method(s: &str) -> Option<Method> {
    match s {
        "prr" => Some(Method::Prr),
        "ror" => Some(Method::Ror),
        "bcpnn" => Some(Method::Bcpnn),
        "mgps" => Some(Method::Mgps),
        _ => None,
    }
}

/// A report's day of event (from the stored `event_day`, else its date).
fn event_day(b: &Value) -> Option<i64> {
    b["event_day"]
        .as_i64()
        .or_else(|| b["event_date"].as_str().and_then(parse_day))
}

fn num_json(s: &str) -> Value {
    s.parse::<f64>()
        .ok()
        .filter(|x| x.is_finite())
        .map(Value::from)
        .unwrap_or(Value::Null)
}

pub(super) async fn signals(
    State(state): State<AppState>,
    p: Principal,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    require(&p, REGULATORS, "compute signals")?;
    let q = query_map(
        &state,
        raw.as_deref(),
        &["method", "by", "from", "to", "format", "stratified"],
    )?;
    let method = q
        .get("method")
        .ok_or_else(|| ApiError::QueryParameter("method: required: prr, ror, bcpnn or mgps".into()))
        .and_then(|m| {
            parse_method(m).ok_or_else(|| {
                ApiError::QueryParameter("method: must be prr, ror, bcpnn or mgps".into())
            })
        })?;
    let by = q.get("by").map(String::as_str).unwrap_or("hazard");
    let field = match by {
        "hazard" => "hazard",
        "injury" => "injury_type",
        _ => {
            return Err(ApiError::QueryParameter(
                "by: must be hazard or injury".into(),
            ));
        }
    };
    let stratified = match q.get("stratified").map(String::as_str) {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => {
            return Err(ApiError::QueryParameter(
                "stratified: must be true or false".into(),
            ));
        }
    };
    let from = q_day(&q, "from")?;
    let to = q_day(&q, "to")?;
    let accept_csv = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/csv"));
    let csv_out = match q.get("format").map(String::as_str) {
        None => accept_csv,
        Some("csv") => true,
        Some("json") => false,
        Some(_) => {
            return Err(ApiError::QueryParameter(
                "format: must be csv or json".into(),
            ));
        }
    };
    let reports = blocking(&state, |s| all_reports(s, SCAN_RECORDS_MAX)).await?;
    let field = field.to_string();
    let (csv, fit, n_reports) = tokio::task::spawn_blocking(move || {
        let lines: Vec<(&str, &str, &str, &str)> = reports
            .iter()
            .filter(|b| {
                let d = event_day(b);
                from.is_none_or(|f| d.is_some_and(|d| d >= f))
                    && to.is_none_or(|t| d.is_some_and(|d| d < t))
            })
            .filter_map(|b| {
                Some((
                    b["id"].as_str()?,
                    b["category"].as_str()?,
                    b[field.as_str()].as_str()?,
                    if stratified {
                        b["kind"].as_str().unwrap_or("")
                    } else {
                        ""
                    },
                ))
            })
            .collect();
        let n = lines.len();
        let table = Contingency::from_reports(
            lines.iter().map(|(id, product, event, stratum)| Report {
                id,
                product,
                event,
                stratum,
            }),
            if stratified {
                ExpectedMethod::Stratified
            } else {
                ExpectedMethod::Unstratified
            },
        )?;
        if table.cells.is_empty() {
            let mut head = "product,event,a,b,c,d,expected".to_string();
            for c in method.columns() {
                head.push(',');
                head.push_str(c);
            }
            head.push('\n');
            return Ok((head, None, n));
        }
        let (csv, fit) = signals_csv(&table, method, &FitOptions::default())?;
        Ok((csv, fit, n))
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?
    .map_err(|e: risk::RiskError| ApiError::QueryParameter(format!("method: {e}")))?;
    if csv_out {
        let mut resp = (StatusCode::OK, csv).into_response();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/csv; charset=utf-8"),
        );
        return Ok(resp);
    }
    let mut rows = Vec::new();
    let mut it = risk::csv::records(&csv);
    let head: Vec<String> = match it.next() {
        Some(Ok((_, h))) => h.iter().map(|s| s.to_string()).collect(),
        _ => Vec::new(),
    };
    for rec in it {
        let (_, f) = rec.map_err(|e| ApiError::Internal(e.to_string()))?;
        let mut o = serde_json::Map::new();
        for (h, v) in head.iter().zip(f.iter()) {
            let val = match h.as_str() {
                "product" | "event" => json!(v),
                "a" | "b" | "c" | "d" => v.parse::<u64>().map(Value::from).unwrap_or(Value::Null),
                "evans" => json!(v.as_ref() as &str == "1"),
                _ => num_json(v),
            };
            o.insert(h.clone(), val);
        }
        rows.push(Value::Object(o));
    }
    let prior = fit.map(|f| {
        let p = f.prior;
        json!({ "alpha1": p.alpha1, "beta1": p.beta1, "alpha2": p.alpha2, "beta2": p.beta2, "p": p.p })
    });
    Ok(axum::Json(json!({
        "method": q["method"],
        "by": by,
        "product": "category",
        "reports": n_reports,
        "columns": head,
        "prior": prior,
        "signals": rows,
    }))
    .into_response())
}

// ----- assessments -----

/// An assessment request with pointers to the offending field.
fn assessment_input(
    v: &Value,
    default_product: Option<&str>,
    default_hazard: Option<&str>,
) -> Result<(AssessmentInput, Vec<String>), ApiError> {
    let f = Fields::new(v, "", &["product", "hazard", "scenarios", "report_ids"])?;
    let product = match f.text("product", DESCRIPTION_MAX)? {
        Some(p) => p,
        None => default_product
            .map(str::to_string)
            .ok_or_else(|| ApiError::validation("/product", "required: the product"))?,
    };
    let hazard = f
        .text("hazard", DESCRIPTION_MAX)?
        .or(default_hazard.map(str::to_string))
        .unwrap_or_default();
    let scen = f
        .get("scenarios")
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty())
        .ok_or_else(|| {
            ApiError::validation(
                "/scenarios",
                "required: a non-empty array of injury scenarios",
            )
        })?;
    if scen.len() > risk::limits::MAX_SCENARIOS {
        return Err(ApiError::validation(
            "/scenarios",
            format!("at most {} scenarios", risk::limits::MAX_SCENARIOS),
        ));
    }
    let mut scenarios = Vec::with_capacity(scen.len());
    for (i, sv) in scen.iter().enumerate() {
        let at = format!("/scenarios/{i}");
        let sf = Fields::new(
            sv,
            &at,
            &["description", "injury", "consumer", "severity", "steps"],
        )?;
        let steps = sf
            .get("steps")
            .and_then(Value::as_array)
            .filter(|a| !a.is_empty())
            .ok_or_else(|| {
                ApiError::validation(
                    &format!("{at}/steps"),
                    "required: a non-empty array of steps",
                )
            })?;
        if steps.len() > risk::limits::MAX_STEPS {
            return Err(ApiError::validation(
                &format!("{at}/steps"),
                format!("at most {} steps", risk::limits::MAX_STEPS),
            ));
        }
        for (j, st) in steps.iter().enumerate() {
            let sat = format!("{at}/steps/{j}");
            let stf = Fields::new(
                st,
                &sat,
                &[
                    "description",
                    "probability",
                    "probability_low",
                    "probability_high",
                ],
            )?;
            for name in ["probability", "probability_low", "probability_high"] {
                if let Some(pv) = stf.get(name) {
                    serde_json::from_value::<risk::assessment::Probability>(pv.clone())
                        .map_err(|e| ApiError::validation(&stf.ptr(name), e.to_string()))?;
                } else if name == "probability" {
                    return Err(ApiError::validation(
                        &stf.ptr(name),
                        "required: a probability such as 0.1, \"1/100\" or \"10%\"",
                    ));
                }
            }
            serde_json::from_value::<StepInput>(st.clone())
                .map_err(|e| ApiError::validation(&sat, e.to_string()))?;
        }
        if let Some(sev) = sf.get("severity") {
            serde_json::from_value::<risk::assessment::Severity>(sev.clone())
                .map_err(|e| ApiError::validation(&sf.ptr("severity"), e.to_string()))?;
        } else {
            return Err(ApiError::validation(
                &sf.ptr("severity"),
                "required: an injury severity 1 to 4",
            ));
        }
        if let Some(c) = sf.get("consumer") {
            serde_json::from_value::<risk::assessment::ConsumerGroup>(c.clone()).map_err(|_| {
                ApiError::validation(
                    &sf.ptr("consumer"),
                    "must be very_vulnerable, vulnerable or adult",
                )
            })?;
        }
        let s: ScenarioInput = serde_json::from_value(sv.clone())
            .map_err(|e| ApiError::validation(&at, e.to_string()))?;
        scenarios.push(s);
    }
    let mut report_ids = Vec::new();
    if let Some(r) = f.get("report_ids") {
        let a = r
            .as_array()
            .filter(|a| a.len() <= ALERT_REPORTS_MAX)
            .ok_or_else(|| {
                ApiError::validation(
                    "/report_ids",
                    format!("must be an array of at most {ALERT_REPORTS_MAX} report ids"),
                )
            })?;
        for (i, x) in a.iter().enumerate() {
            let s = x
                .as_str()
                .filter(|s| !s.is_empty() && s.len() <= TEXT_MAX)
                .ok_or_else(|| {
                    ApiError::validation(&format!("/report_ids/{i}"), "must be a report id")
                })?;
            report_ids.push(s.to_string());
        }
    }
    Ok((
        AssessmentInput {
            product,
            hazard,
            scenarios,
        },
        report_ids,
    ))
}

/// Assess and store; `alert` links the assessment to an alert (whose record is updated).
async fn assess_and_store(
    state: &AppState,
    p: &Principal,
    input: AssessmentInput,
    report_ids: Vec<String>,
    alert: Option<Record>,
) -> Result<Response, ApiError> {
    let result = risk::assessment::assess(&input).map_err(|e| risk_err(e, ""))?;
    let now = state.now_ms();
    let id = format!("asm-{}", hex::encode(rand::random::<[u8; 12]>()));
    let body = json!({
        "id": id,
        "product": input.product,
        "hazard": input.hazard,
        "level": result.level,
        "level_label": result.level.label(),
        "rationale": result.rationale,
        "result": result,
        "input": input,
        "report_ids": report_ids,
        "alert_id": alert.as_ref().map(|a| a.id.clone()),
        "proposal_id": null,
        "created_ms": now,
        "created": output::format_time_ms(now),
        "created_by": p.org.as_str(),
    });
    let owner = p.org.clone();
    let scope = p.scope();
    let b2 = body.clone();
    blocking(state, move |s| {
        for (i, r) in report_ids.iter().enumerate() {
            if s.get_record(&scope, REPORTS, r)?.is_none() {
                return Ok(Err(ApiError::validation(
                    &format!("/report_ids/{i}"),
                    "no such report",
                )));
            }
        }
        s.put_record(
            NewRecord {
                collection: ASSESSMENTS.into(),
                id: b2["id"].as_str().unwrap_or_default().to_string(),
                owner: Some(owner),
                updated_ms: now,
                body: b2.clone(),
            },
            Some(0),
        )?;
        if let Some(a) = alert {
            let mut ab = a.body;
            ab["status"] = json!("assessed");
            ab["assessment_id"] = b2["id"].clone();
            ab["level"] = b2["level"].clone();
            s.put_record(
                NewRecord {
                    collection: ALERTS.into(),
                    id: a.id,
                    owner: a.owner,
                    updated_ms: now,
                    body: ab,
                },
                Some(a.version),
            )?;
        }
        Ok(Ok(()))
    })
    .await??;
    let loc = format!("/api/risk/assessments/{id}");
    let mut resp = (StatusCode::CREATED, axum::Json(body)).into_response();
    if let Ok(v) = HeaderValue::from_str(&loc) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    Ok(resp)
}

pub(super) async fn create_assessment(
    State(state): State<AppState>,
    p: Principal,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    require(
        &p,
        &[Role::Enterprise, Role::Regulator, Role::Admin],
        "create risk assessments",
    )?;
    let v = json_body(&headers, body, false).await?;
    let (input, report_ids) = assessment_input(&v, None, None)?;
    assess_and_store(&state, &p, input, report_ids, None).await
}

pub(super) async fn get_assessment(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let scope = p.scope();
    let rec = blocking(&state, move |s| s.get_record(&scope, ASSESSMENTS, &id))
        .await?
        .ok_or_else(|| ApiError::NoSuchResource("no such assessment".into()))?;
    Ok(axum::Json(rec.body).into_response())
}

// ----- recall proposals -----

fn classification_of(level: &str) -> &'static str {
    match level {
        "serious" => "I",
        "high" => "II",
        _ => "III",
    }
}

fn depth_of(level: &str) -> &'static str {
    match level {
        "serious" => "consumer",
        "high" => "retail",
        _ => "wholesale",
    }
}

/// Recall targets from the products of linked reports: Digital Links with a serial are serials,
/// with a lot are lots, GTIN-only ones are products.
fn targets_from_reports(reports: &[Value]) -> Value {
    let mut lots = std::collections::BTreeSet::new();
    let mut serials = std::collections::BTreeSet::new();
    let mut products = std::collections::BTreeSet::new();
    for r in reports {
        let Some(id) = r["product"]["id"].as_str() else {
            continue;
        };
        if id.contains("/21/") {
            serials.insert(id.to_string());
        } else if id.contains("/10/") {
            lots.insert(id.to_string());
        } else if let Some(g) = id.split("/01/").nth(1) {
            products.insert(g.chars().take(14).collect::<String>());
        }
    }
    let products: Vec<Value> = products.into_iter().map(|g| json!({ "gtin": g })).collect();
    json!({ "lots": lots, "serials": serials, "products": products })
}

pub(super) async fn recall_proposal(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    require(&p, REGULATORS, "propose recalls")?;
    let v = json_body(&headers, body, true).await?;
    let f = Fields::new(
        &v,
        "",
        &[
            "title",
            "reason",
            "classification",
            "depth",
            "recalling_firm",
            "targets",
        ],
    )?;
    let title = f.text("title", TEXT_MAX)?;
    let reason = f.text("reason", DESCRIPTION_MAX)?;
    let classification = match f.text("classification", 16)? {
        None => None,
        Some(c) => match c.trim_start_matches("Class ") {
            c @ ("I" | "II" | "III") => Some(c.to_string()),
            _ => {
                return Err(ApiError::validation(
                    "/classification",
                    "must be I, II or III",
                ));
            }
        },
    };
    let depth = match f.text("depth", 16)? {
        None => None,
        Some(d) if ["wholesale", "retail", "consumer"].contains(&d.as_str()) => Some(d),
        Some(_) => {
            return Err(ApiError::validation(
                "/depth",
                "must be wholesale, retail or consumer",
            ));
        }
    };
    let firm = match f.text("recalling_firm", 128)? {
        None => None,
        Some(firm) => Some(
            store::OrgId::parse(&firm)
                .map_err(|e| ApiError::validation("/recalling_firm", e))?
                .to_string(),
        ),
    };
    let targets = match f.get("targets") {
        None => None,
        Some(t) => {
            Fields::new(t, "/targets", &["lots", "serials", "products"])?;
            Some(t.clone())
        }
    };
    let now = state.now_ms();
    let owner = p.org.clone();
    let by = p.org.to_string();
    let out = blocking(&state, move |s| {
        let Some(a) = s.get_record(&Scope::All, ASSESSMENTS, &id)? else {
            return Ok(Err(ApiError::NoSuchResource("no such assessment".into())));
        };
        if let Some(existing) = a.body["proposal_id"].as_str() {
            return Ok(Ok(Err(existing.to_string())));
        }
        let level = a.body["level"].as_str().unwrap_or("low").to_string();
        let mut reports = Vec::new();
        for r in a.body["report_ids"].as_array().into_iter().flatten() {
            if let Some(rec) = s.get_record(&Scope::All, REPORTS, r.as_str().unwrap_or_default())? {
                reports.push(rec.body);
            }
        }
        let firm = firm.or_else(|| {
            // The reporting enterprise of linked incident reports, when there is exactly one.
            let firms: std::collections::BTreeSet<&str> = reports
                .iter()
                .filter(|r| r["kind"] == "incident")
                .filter_map(|r| r["reporter"].as_str())
                .collect();
            (firms.len() == 1).then(|| firms.into_iter().next().unwrap_or_default().to_string())
        });
        let product = a.body["product"].as_str().unwrap_or_default();
        let hazard = a.body["hazard"].as_str().unwrap_or_default();
        let alert_id = a.body["alert_id"].clone();
        let pid = format!("rcp-{}", id.trim_start_matches("asm-"));
        let body = json!({
            "id": pid,
            "status": "proposed",
            "assessment_id": id,
            "alert_id": alert_id,
            "report_ids": a.body["report_ids"],
            "level": level,
            "recall": {
                "title": title.unwrap_or_else(|| format!("Recall of {product}")),
                "reason": reason.unwrap_or_else(|| {
                    format!("Risk assessment {id}: {} ({hazard})", a.body["level_label"].as_str().unwrap_or(&level))
                }),
                "hazard": hazard,
                "classification": classification.unwrap_or_else(|| classification_of(&level).to_string()),
                "depth": depth.unwrap_or_else(|| depth_of(&level).to_string()),
                "recalling_firm": firm,
                "targets": targets.unwrap_or_else(|| targets_from_reports(&reports)),
            },
            "links": {
                "assessment": format!("/api/risk/assessments/{id}"),
                "alert": alert_id.as_str().map(|x| format!("/api/alerts/{x}")),
                "open_recall": "POST /api/recalls with the `recall` object",
            },
            "created_ms": now,
            "created": output::format_time_ms(now),
            "created_by": by,
        });
        s.put_record(
            NewRecord {
                collection: PROPOSALS.into(),
                id: pid.clone(),
                owner: Some(owner),
                updated_ms: now,
                body: body.clone(),
            },
            Some(0),
        )?;
        let mut ab = a.body;
        ab["proposal_id"] = json!(pid);
        s.put_record(
            NewRecord {
                collection: ASSESSMENTS.into(),
                id: a.id,
                owner: a.owner,
                updated_ms: now,
                body: ab,
            },
            Some(a.version),
        )?;
        if let Some(alert) = alert_id.as_str()
            && let Some(al) = s.get_record(&Scope::All, ALERTS, alert)?
        {
            let mut b = al.body;
            b["status"] = json!("proposed");
            b["proposal_id"] = json!(pid);
            s.put_record(
                NewRecord {
                    collection: ALERTS.into(),
                    id: al.id,
                    owner: al.owner,
                    updated_ms: now,
                    body: b,
                },
                Some(al.version),
            )?;
        }
        Ok(Ok(Ok(body)))
    })
    .await??;
    match out {
        Err(existing) => Ok(conflict(
            "this assessment already has a recall proposal",
            &existing,
            &format!("/api/risk/assessments/{existing}"),
        )),
        Ok(body) => Ok((StatusCode::CREATED, axum::Json(body)).into_response()),
    }
}

// ----- early warning -----

#[derive(Debug, Clone, Copy, PartialEq)]
enum ScanMethod {
    Ears(EarsMethod),
    Cusum,
    Ewma,
    Farrington,
}

/// One alarm: the week index, observed, the expected/threshold and the statistic.
struct Alarm {
    week: usize,
    observed: f64,
    expected: f64,
    threshold: f64,
    statistic: f64,
}

fn mean_sd(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let m = xs.iter().sum::<f64>() / n;
    let v = if xs.len() > 1 {
        xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1.0)
    } else {
        0.0
    };
    (m, v.sqrt())
}

/// Weekly counts of one group and the report ids counted in each week.
type GroupSeries = (Vec<f64>, BTreeMap<usize, Vec<String>>);

struct ScanParams {
    method: ScanMethod,
    alpha: Option<f64>,
    baseline_weeks: usize,
    k: f64,
    h: f64,
    lambda: f64,
    l: f64,
    years: usize,
}

/// Runs the method over one weekly series; the error names the request field.
fn run_method(series: &[f64], sp: &ScanParams) -> Result<Vec<Alarm>, ApiError> {
    let n = series.len();
    let short = |need: usize| {
        ApiError::validation(
            "/from",
            format!("the window from..to must cover more than {need} weeks for this method"),
        )
    };
    match sp.method {
        ScanMethod::Ears(m) => {
            let o = EarsOptions {
                alpha: sp.alpha.unwrap_or(0.001),
                baseline: 7,
            };
            let history = 7
                + if m == EarsMethod::C1 { 0 } else { 2 }
                + if m == EarsMethod::C3 { 2 } else { 0 };
            if n <= history {
                return Err(short(history));
            }
            let pts = ears(series, history..n, m, &o).map_err(|e| risk_err(e, ""))?;
            Ok(pts
                .into_iter()
                .filter(|p| p.alarm)
                .map(|p| Alarm {
                    week: p.index,
                    observed: p.observed,
                    expected: p.mean,
                    threshold: p.upperbound,
                    statistic: p.statistic,
                })
                .collect())
        }
        ScanMethod::Cusum | ScanMethod::Ewma => {
            let b = sp.baseline_weeks;
            if n <= b {
                return Err(short(b));
            }
            let (m, sd) = mean_sd(&series[..b]);
            // Counts: at least the Poisson standard deviation, never zero.
            let sigma = sd.max(m.sqrt()).max(0.5);
            let pts = if sp.method == ScanMethod::Cusum {
                cusum(
                    &series[b..],
                    &CusumOptions {
                        target: m,
                        sigma,
                        k: sp.k,
                        h: sp.h,
                        reset_after_alarm: true,
                    },
                )
            } else {
                ewma(
                    &series[b..],
                    &EwmaOptions {
                        target: m,
                        sigma,
                        lambda: sp.lambda,
                        l: sp.l,
                        exact_limits: true,
                    },
                )
            }
            .map_err(|e| risk_err(e, ""))?;
            Ok(pts
                .into_iter()
                .filter(|p| p.alarm)
                .map(|p| Alarm {
                    week: p.index + b,
                    observed: series[p.index + b],
                    expected: m,
                    threshold: p.limit,
                    statistic: p.statistic,
                })
                .collect())
        }
        ScanMethod::Farrington => {
            let o = FarringtonOptions::algo_farrington(sp.years, 3, sp.alpha.unwrap_or(0.01));
            let need = o.b * o.freq + o.w;
            if n <= need {
                return Err(short(need));
            }
            let pts = farrington_flexible(series, need..n, &o).map_err(|e| risk_err(e, ""))?;
            Ok(pts
                .into_iter()
                .filter(|p| p.alarm)
                .map(|p| Alarm {
                    week: p.index,
                    observed: p.observed,
                    expected: p.expected,
                    threshold: p.upperbound.unwrap_or(f64::NAN),
                    statistic: p.score,
                })
                .collect())
        }
    }
}

/// The optional `kind` filter of a scan.
fn scan_kind(f: &Fields<'_>) -> Result<Option<String>, ApiError> {
    let kind = f.text("kind", 16)?;
    if let Some(k) = &kind
        && !["incident", "injury", "complaint"].contains(&k.as_str())
    {
        return Err(ApiError::validation(
            "/kind",
            "must be incident, injury or complaint",
        ));
    }
    Ok(kind)
}

/// `from` and `to` of a scan (days) and the number of weeks from..to, 1 to [`SCAN_WEEKS_MAX`].
fn scan_window(f: &Fields<'_>) -> Result<(i64, i64, i64), ApiError> {
    let day = |name: &str| -> Result<i64, ApiError> {
        f.text(name, 10)?
            .as_deref()
            .and_then(parse_day)
            .ok_or_else(|| ApiError::validation(&f.ptr(name), "required: a date YYYY-MM-DD"))
    };
    let from = day("from")?;
    let to = day("to")?;
    let weeks = (to - from + 6).div_euclid(7);
    if !(1..=SCAN_WEEKS_MAX).contains(&weeks) {
        return Err(ApiError::validation(
            "/to",
            format!("must be after from, at most {SCAN_WEEKS_MAX} weeks later"),
        ));
    }
    Ok((from, to, weeks))
}

pub(super) async fn scan(
    State(state): State<AppState>,
    p: Principal,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    require(&p, REGULATORS, "run early-warning scans")?;
    let v = json_body(&headers, body, false).await?;
    if v.get("method").and_then(Value::as_str) == Some("space_time_scan") {
        return space_time_scan(&state, &p, &v).await;
    }
    let f = Fields::new(
        &v,
        "",
        &[
            "method",
            "by",
            "from",
            "to",
            "kind",
            "alpha",
            "baseline_weeks",
            "k",
            "h",
            "lambda",
            "l",
            "years",
        ],
    )?;
    let method_name = f.req_text("method", 32)?;
    let method = match method_name.as_str() {
        "ears_c1" => ScanMethod::Ears(EarsMethod::C1),
        "ears_c2" => ScanMethod::Ears(EarsMethod::C2),
        "ears_c3" => ScanMethod::Ears(EarsMethod::C3),
        "cusum" => ScanMethod::Cusum,
        "ewma" => ScanMethod::Ewma,
        "farrington" => ScanMethod::Farrington,
        _ => {
            return Err(ApiError::validation(
                "/method",
                format!("must be one of {}", SCAN_METHODS.join(", ")),
            ));
        }
    };
    let by = f.req_text("by", 16)?;
    if !["category", "hazard", "region"].contains(&by.as_str()) {
        return Err(ApiError::validation(
            "/by",
            "must be category, hazard or region",
        ));
    }
    let kind = scan_kind(&f)?;
    let (from, to, weeks) = scan_window(&f)?;
    let real = |name: &str, default: f64, lo: f64, hi: f64| -> Result<f64, ApiError> {
        match f.get(name) {
            None => Ok(default),
            Some(x) => x.as_f64().filter(|x| *x > lo && *x <= hi).ok_or_else(|| {
                ApiError::validation(&f.ptr(name), format!("must be a number in ({lo}, {hi}]"))
            }),
        }
    };
    let sp = ScanParams {
        method,
        alpha: f
            .get("alpha")
            .map(|_| real("alpha", 0.0, 0.0, 0.5))
            .transpose()?,
        baseline_weeks: f
            .count("baseline_weeks", 520)?
            .map(|b| b.max(2) as usize)
            .unwrap_or(8),
        k: real("k", 0.5, -1e-12, 10.0)?,
        h: real("h", 4.0, 0.0, 100.0)?,
        lambda: real("lambda", 0.3, 0.0, 1.0)?,
        l: real("l", 3.0, 0.0, 10.0)?,
        years: f
            .count("years", 10)?
            .map(|y| y.max(1) as usize)
            .unwrap_or(1),
    };
    let reports = blocking(&state, |s| all_reports(s, SCAN_RECORDS_MAX)).await?;
    // Weekly counts per group, with the report ids of each (group, week).
    let mut groups: BTreeMap<String, GroupSeries> = BTreeMap::new();
    for r in &reports {
        if kind.as_deref().is_some_and(|k| r["kind"] != k) {
            continue;
        }
        let (Some(g), Some(d)) = (r[by.as_str()].as_str(), event_day(r)) else {
            continue;
        };
        if d < from || d >= to {
            continue;
        }
        let w = ((d - from) / 7) as usize;
        let e = groups
            .entry(g.to_string())
            .or_insert_with(|| (vec![0.0; weeks as usize], BTreeMap::new()));
        e.0[w] += 1.0;
        let ids = e.1.entry(w).or_default();
        if ids.len() < ALERT_REPORTS_MAX {
            ids.push(r["id"].as_str().unwrap_or_default().to_string());
        }
    }
    let now = state.now_ms();
    let mut alerts = Vec::new();
    for (g, (series, ids)) in &groups {
        for a in run_method(series, &sp)? {
            let ws = from + 7 * a.week as i64;
            let id = format!(
                "alr-{}",
                &hash_parts(&[&method_name, &by, g, &format_day(ws)])[..24]
            );
            let finite = |x: f64| if x.is_finite() { json!(x) } else { Value::Null };
            alerts.push(json!({
                "id": id,
                "method": method_name,
                "by": by,
                "group": g,
                "kind": kind,
                "week_start": format_day(ws),
                "week_end": format_day(ws + 7),
                "observed": a.observed,
                "expected": finite(a.expected),
                "threshold": finite(a.threshold),
                "statistic": finite(a.statistic),
                "series": series,
                "window": { "from": format_day(from), "to": format_day(to) },
                "report_ids": ids.get(&a.week).cloned().unwrap_or_default(),
                "status": "open",
                "assessment_id": null,
                "proposal_id": null,
                "created_ms": now,
                "created": output::format_time_ms(now),
                "created_by": p.org.as_str(),
            }));
        }
    }
    let owner = p.org.clone();
    let n_groups = groups.len();
    let (created, existing) = blocking(&state, move |s| {
        let mut created = Vec::new();
        let mut existing = Vec::new();
        for a in alerts {
            let id = a["id"].as_str().unwrap_or_default().to_string();
            match s.put_record(
                NewRecord {
                    collection: ALERTS.into(),
                    id: id.clone(),
                    owner: Some(owner.clone()),
                    updated_ms: now,
                    body: a.clone(),
                },
                Some(0),
            ) {
                Ok(_) => created.push(a),
                Err(StoreError::Conflict { .. }) => existing.push(id),
                Err(e) => return Err(e),
            }
        }
        Ok((created, existing))
    })
    .await?;
    Ok(axum::Json(json!({
        "method": method_name,
        "by": by,
        "weeks": weeks,
        "groups": n_groups,
        "alerts": created,
        "existing": existing,
    }))
    .into_response())
}

// ----- the Poisson space-time scan statistic -----

/// Most regions in one space-time scan.
pub const SPACE_TIME_REGIONS_MAX: usize = 500;
/// Most Monte Carlo replicates in one space-time scan.
pub const SPACE_TIME_REPLICATES_MAX: u64 = 9_999;
/// Budget of one space-time scan: circles × end weeks × window lengths × (replicates + 1), with
/// circles bounded by regions² (Kulldorff's circles are prefixes of each region's neighbour list).
pub const SPACE_TIME_WORK_MAX: f64 = 2e9;
/// Most clusters listed in the response.
pub const SPACE_TIME_TOP_MAX: u64 = 50;

/// `POST /api/alerts/scan` with `"method": "space_time_scan"`: Kulldorff's Poisson space-time
/// scan statistic (`risk::warning::scan`) over the stored reports by region and week. The
/// regions and their coordinates (and optionally populations, the baseline; uniform otherwise)
/// come with the request; reports of other regions or without one are counted as `unlocated`.
/// The most likely cluster becomes an alert when its Monte Carlo p-value is at most `alpha`.
async fn space_time_scan(state: &AppState, p: &Principal, v: &Value) -> Result<Response, ApiError> {
    let f = Fields::new(
        v,
        "",
        &[
            "method",
            "from",
            "to",
            "kind",
            "category",
            "hazard",
            "regions",
            "max_population_fraction",
            "max_weeks",
            "prospective",
            "replicates",
            "seed",
            "alpha",
            "top",
        ],
    )?;
    let (from, to, weeks) = scan_window(&f)?;
    let kind = scan_kind(&f)?;
    let category = f.text("category", TEXT_MAX)?;
    let hazard = f.text("hazard", TEXT_MAX)?;
    let regions_v = f
        .get("regions")
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty() && a.len() <= SPACE_TIME_REGIONS_MAX)
        .ok_or_else(|| {
            ApiError::validation(
                "/regions",
                format!(
                    "required: 1 to {SPACE_TIME_REGIONS_MAX} regions {{id, x, y, population?}}"
                ),
            )
        })?;
    let mut regions = Vec::with_capacity(regions_v.len());
    let mut population = Vec::with_capacity(regions_v.len());
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    for (i, rv) in regions_v.iter().enumerate() {
        let at = format!("/regions/{i}");
        let rf = Fields::new(rv, &at, &["id", "x", "y", "population"])?;
        let id = rf.req_text("id", 12)?;
        if !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(ApiError::validation(
                &rf.ptr("id"),
                "must be an administrative region code: 1 to 12 letters or digits",
            ));
        }
        let coord = |name: &str| {
            rf.get(name)
                .and_then(Value::as_f64)
                .filter(|x| x.is_finite())
                .ok_or_else(|| ApiError::validation(&rf.ptr(name), "required: a finite number"))
        };
        let (x, y) = (coord("x")?, coord("y")?);
        let pop = match rf.get("population") {
            None => 1.0,
            Some(pv) => pv
                .as_f64()
                .filter(|x| x.is_finite() && *x > 0.0)
                .ok_or_else(|| {
                    ApiError::validation(&rf.ptr("population"), "must be a positive number")
                })?,
        };
        if index.insert(id.clone(), i).is_some() {
            return Err(ApiError::validation(
                &rf.ptr("id"),
                "must be unique among the regions",
            ));
        }
        regions.push(risk::warning::scan::Region { id, x, y });
        population.push(pop);
    }
    let max_fraction = match f.get("max_population_fraction") {
        None => 0.5,
        Some(x) => x
            .as_f64()
            .filter(|x| *x > 0.0 && *x <= 0.5)
            .ok_or_else(|| {
                ApiError::validation("/max_population_fraction", "must be a number in (0, 0.5]")
            })?,
    };
    let max_weeks = match f.count("max_weeks", weeks as u64)? {
        Some(0) => {
            return Err(ApiError::validation(
                "/max_weeks",
                format!("must be an integer 1 to {weeks} (the weeks from..to)"),
            ));
        }
        Some(w) => w as usize,
        None => (weeks as usize).div_ceil(2),
    };
    let prospective = match f.get("prospective") {
        None => false,
        Some(b) => b
            .as_bool()
            .ok_or_else(|| ApiError::validation("/prospective", "must be true or false"))?,
    };
    let replicates = f
        .count("replicates", SPACE_TIME_REPLICATES_MAX)?
        .unwrap_or(999) as usize;
    let seed = f.count("seed", u64::MAX)?.unwrap_or(1);
    let alpha = match f.get("alpha") {
        None => 0.05,
        Some(x) => x
            .as_f64()
            .filter(|x| *x > 0.0 && *x <= 1.0)
            .ok_or_else(|| ApiError::validation("/alpha", "must be a number in (0, 1]"))?,
    };
    let top = f.count("top", SPACE_TIME_TOP_MAX)?.unwrap_or(10) as usize;
    let r = regions.len() as f64;
    let ends = if prospective { 1.0 } else { weeks as f64 };
    let work = r * r * ends * max_weeks as f64 * (replicates as f64 + 1.0);
    if work > SPACE_TIME_WORK_MAX {
        return Err(ApiError::validation(
            "/replicates",
            format!(
                "too much work for one request (regions² × weeks × max_weeks × (replicates + 1) \
                 must stay under {SPACE_TIME_WORK_MAX:e}): fewer replicates, regions or weeks"
            ),
        ));
    }

    let reports = blocking(state, |s| all_reports(s, SCAN_RECORDS_MAX)).await?;
    let w = weeks as usize;
    let mut counts = vec![vec![0.0; w]; regions.len()];
    let mut ids: BTreeMap<(usize, usize), Vec<String>> = BTreeMap::new();
    let mut unlocated = 0u64;
    for rep in &reports {
        if kind.as_deref().is_some_and(|k| rep["kind"] != k)
            || category.as_deref().is_some_and(|c| rep["category"] != c)
            || hazard.as_deref().is_some_and(|h| rep["hazard"] != h)
        {
            continue;
        }
        let Some(d) = event_day(rep).filter(|d| *d >= from && *d < to) else {
            continue;
        };
        let Some(&ri) = rep["region"].as_str().and_then(|g| index.get(g)) else {
            unlocated += 1;
            continue;
        };
        let wk = ((d - from) / 7) as usize;
        counts[ri][wk] += 1.0;
        let cell = ids.entry((ri, wk)).or_default();
        if cell.len() < ALERT_REPORTS_MAX {
            cell.push(rep["id"].as_str().unwrap_or_default().to_string());
        }
    }
    let cases: f64 = counts.iter().flatten().sum();
    if cases == 0.0 {
        return Err(ApiError::validation(
            "/regions",
            "no report in these regions between from and to (and matching the filters)",
        ));
    }
    let baseline: Vec<Vec<f64>> = population.iter().map(|&pop| vec![pop; w]).collect();
    let options = risk::warning::scan::ScanOptions {
        max_population_fraction: max_fraction,
        max_window: max_weeks,
        prospective,
        replicates,
        seed,
    };
    let (regions2, counts2) = (regions.clone(), counts.clone());
    let result = tokio::task::spawn_blocking(move || {
        risk::warning::scan::scan(&regions2, &counts2, &baseline, &options, top)
    })
    .await
    .map_err(|e| ApiError::Internal(format!("scan task failed: {e}")))?
    .map_err(|e| risk_err(e, ""))?;

    let cluster_json = |c: &risk::warning::scan::Cluster| {
        let ws = from + 7 * c.start as i64;
        json!({
            "regions": c.regions.iter().map(|&i| regions[i].id.as_str()).collect::<Vec<_>>(),
            "week_start": format_day(ws),
            "week_end": format_day(ws + 7 * c.length as i64),
            "weeks": c.length,
            "observed": c.observed,
            "expected": c.expected,
            "llr": c.llr,
            "relative_risk": if c.relative_risk.is_finite() { json!(c.relative_risk) } else { Value::Null },
        })
    };
    let now = state.now_ms();
    let mut alert = None;
    if let (Some(c), Some(pv)) = (&result.most_likely, result.p_value)
        && pv <= alpha
    {
        let mut names: Vec<&str> = c.regions.iter().map(|&i| regions[i].id.as_str()).collect();
        let centre = names[0].to_string();
        names.sort_unstable();
        let ws = from + 7 * c.start as i64;
        let filter = format!(
            "{}|{}|{}",
            kind.as_deref().unwrap_or(""),
            category.as_deref().unwrap_or(""),
            hazard.as_deref().unwrap_or("")
        );
        let id = format!(
            "alr-{}",
            &hash_parts(&[
                "space_time_scan",
                &names.join(","),
                &format_day(ws),
                &c.length.to_string(),
                &filter,
            ])[..24]
        );
        let series: Vec<f64> = (0..w)
            .map(|k| c.regions.iter().map(|&i| counts[i][k]).sum())
            .collect();
        let mut report_ids = Vec::new();
        'cells: for &i in &c.regions {
            for k in c.start..c.start + c.length {
                for rid in ids.get(&(i, k)).into_iter().flatten() {
                    if report_ids.len() >= ALERT_REPORTS_MAX {
                        break 'cells;
                    }
                    report_ids.push(rid.clone());
                }
            }
        }
        let mut body = cluster_json(c);
        let extra = json!({
            "id": id,
            "method": "space_time_scan",
            "by": "region",
            "group": centre,
            "kind": kind,
            "category": category,
            "hazard": hazard,
            "threshold": null,
            "statistic": c.llr,
            "p_value": pv,
            "alpha": alpha,
            "replicates": replicates,
            "seed": seed,
            "series": series,
            "window": { "from": format_day(from), "to": format_day(to) },
            "report_ids": report_ids,
            "status": "open",
            "assessment_id": null,
            "proposal_id": null,
            "created_ms": now,
            "created": output::format_time_ms(now),
            "created_by": p.org.as_str(),
        });
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        alert = Some(body);
    }
    let owner = p.org.clone();
    let (created, existing) = match alert {
        None => (Vec::new(), Vec::new()),
        Some(a) => {
            blocking(state, move |s| {
                let id = a["id"].as_str().unwrap_or_default().to_string();
                match s.put_record(
                    NewRecord {
                        collection: ALERTS.into(),
                        id: id.clone(),
                        owner: Some(owner),
                        updated_ms: now,
                        body: a.clone(),
                    },
                    Some(0),
                ) {
                    Ok(_) => Ok((vec![a], Vec::new())),
                    Err(StoreError::Conflict { .. }) => Ok((Vec::new(), vec![id])),
                    Err(e) => Err(e),
                }
            })
            .await?
        }
    };
    Ok(axum::Json(json!({
        "method": "space_time_scan",
        "weeks": weeks,
        "regions": regions.len(),
        "cases": cases,
        "unlocated": unlocated,
        "replicates": replicates,
        "seed": seed,
        "most_likely": result.most_likely.as_ref().map(cluster_json),
        "p_value": result.p_value,
        "top": result.top.iter().map(cluster_json).collect::<Vec<_>>(),
        "alerts": created,
        "existing": existing,
    }))
    .into_response())
}

pub(super) async fn list_alerts(
    State(state): State<AppState>,
    p: Principal,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    require(&p, REGULATORS, "read alerts")?;
    let q = query_map(
        &state,
        raw.as_deref(),
        &["status", "method", "perPage", "nextPageToken"],
    )?;
    let status = q.get("status").cloned();
    if let Some(s) = &status
        && !["open", "assessed", "proposed"].contains(&s.as_str())
    {
        return Err(ApiError::QueryParameter(
            "status: must be open, assessed or proposed".into(),
        ));
    }
    let method = q.get("method").cloned();
    if let Some(m) = &method
        && !SCAN_METHODS.contains(&m.as_str())
    {
        return Err(ApiError::QueryParameter(format!(
            "method: must be one of {}",
            SCAN_METHODS.join(", ")
        )));
    }
    let keep = std::sync::Arc::new(move |r: &Record| {
        (status.as_deref().is_none_or(|st| r.body["status"] == st)
            && method.as_deref().is_none_or(|m| r.body["method"] == m))
        .then(|| r.body.clone())
    });
    Ok(page_records(&state, &p, "/api/alerts", q, ALERTS, keep)
        .await?
        .into_response())
}

pub(super) async fn get_alert(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    require(&p, REGULATORS, "read alerts")?;
    let rec = blocking(&state, move |s| s.get_record(&Scope::All, ALERTS, &id))
        .await?
        .ok_or_else(|| ApiError::NoSuchResource("no such alert".into()))?;
    Ok(axum::Json(rec.body).into_response())
}

pub(super) async fn assess_alert(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    require(&p, REGULATORS, "assess alerts")?;
    let v = json_body(&headers, body, false).await?;
    let alert = blocking(&state, move |s| s.get_record(&Scope::All, ALERTS, &id))
        .await?
        .ok_or_else(|| ApiError::NoSuchResource("no such alert".into()))?;
    if let Some(existing) = alert.body["assessment_id"].as_str() {
        return Ok(conflict(
            "this alert already has a risk assessment",
            existing,
            &format!("/api/risk/assessments/{existing}"),
        ));
    }
    let by = alert.body["by"].as_str().unwrap_or_default();
    let group = alert.body["group"].as_str().unwrap_or_default();
    let product = if by == "category" {
        format!("products of category {group}")
    } else {
        format!("products reported with {by} {group}")
    };
    let hazard = (by == "hazard").then_some(group);
    let (input, mut report_ids) = assessment_input(&v, Some(&product), hazard)?;
    if report_ids.is_empty() {
        report_ids = alert.body["report_ids"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect();
    }
    assess_and_store(&state, &p, input, report_ids, Some(alert)).await
}
