//! `GET /epcis/events` and everything that answers with events: `/events/{id}`, the browse
//! resources (`/eventTypes`, `/epcs`, `/bizSteps`, `/bizLocations`, `/readPoints`,
//! `/dispositions`, each with `/{value}/events`). Paging by signed `nextPageToken`s and `Link`.

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Uri, header};
use axum::response::{IntoResponse, Response};
use epcis::query::EventQuery;
use serde_json::{Value, json};
use store::{Cursor, Vocabulary};

use crate::auth::Principal;
use crate::error::ApiError;
use crate::output;
use crate::params;
use crate::pipeline::event_query;
use crate::{AppState, blocking, token};

/// `perPage` and `nextPageToken` split from the other parameters.
pub(crate) struct Paging {
    pub per_page: usize,
    pub token: Option<String>,
    /// Every other parameter (what a token is bound to, and what `Link` repeats).
    pub rest: Vec<(String, String)>,
}

impl Paging {
    pub fn from_params(state: &AppState, all: Vec<(String, String)>) -> Result<Paging, ApiError> {
        let mut per_page = None;
        let mut tok = None;
        let mut rest = Vec::new();
        for (k, v) in all {
            match k.as_str() {
                "perPage" => {
                    let max = state.limits.per_page_max;
                    let n: usize = v
                        .parse()
                        .ok()
                        .filter(|n| (1..=max).contains(n))
                        .ok_or_else(|| {
                            ApiError::QueryParameter(format!("perPage: must be 1 to {max}"))
                        })?;
                    per_page = Some(n);
                }
                "nextPageToken" => tok = Some(v),
                _ => rest.push((k, v)),
            }
        }
        Ok(Paging {
            per_page: per_page.unwrap_or(state.limits.per_page_default),
            token: tok,
            rest,
        })
    }
}

/// `Link: <…&nextPageToken=…>; rel="next"` and `GS1-Next-Page-Token-Expires`.
pub(crate) fn add_next_link(
    resp: &mut Response,
    resource: &str,
    paging: &Paging,
    tok: &str,
    now_ms: i64,
) {
    let mut pairs = paging.rest.clone();
    pairs.push(("perPage".into(), paging.per_page.to_string()));
    pairs.push(("nextPageToken".into(), tok.to_string()));
    let link = format!(
        "<{resource}?{}>; rel=\"next\"",
        params::encode_pairs(&pairs)
    );
    if let Ok(v) = HeaderValue::from_str(&link) {
        resp.headers_mut().insert(header::LINK, v);
    }
    let expires = output::format_time_ms(token::expires_ms(now_ms));
    if let Ok(v) = HeaderValue::from_str(&expires) {
        resp.headers_mut().insert("GS1-Next-Page-Token-Expires", v);
    }
}

fn bad_token() -> ApiError {
    ApiError::QueryParameter("nextPageToken: not valid for this query (or expired)".into())
}

/// Whether the client asked for XML rather than JSON.
fn wants_xml(headers: &HeaderMap) -> bool {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let a = accept.to_ascii_lowercase();
    a.contains("xml") && !a.contains("json") && !a.contains("*/*")
}

/// Run an event query for `principal` and answer with one page of an `EPCISQueryDocument`.
///
/// `resource` is the path the client called; tokens are bound to it, to the caller's scope and to
/// `paging.rest` (the query parameters), so together they pin down `query`.
pub(crate) async fn run_query(
    state: &AppState,
    principal: &Principal,
    resource: &str,
    paging: Paging,
    query: EventQuery,
    query_name: &str,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let xml = wants_xml(headers);
    let scope = principal.scope();
    let secret = blocking(state, |s| s.server_secret()).await?;
    let now = state.now_ms();
    let binding = token::Binding {
        scope: &scope,
        resource,
        params: &paging.rest,
    };
    // Where this page starts, and how many events earlier pages served (for eventCountLimit).
    let (after, served) = match &paging.token {
        Some(t) => {
            let p = token::verify(&secret, &binding, t, now)?;
            let k = p["k"].as_i64().ok_or_else(bad_token)?;
            let s = p["s"].as_i64().ok_or_else(bad_token)?;
            let n = p["n"].as_u64().ok_or_else(bad_token)? as usize;
            (
                Some(Cursor {
                    sort_key_ms: k,
                    seq: s,
                }),
                n,
            )
        }
        None => (None, 0),
    };
    let remaining = query
        .event_count_limit
        .map_or(usize::MAX, |l| l.saturating_sub(served));
    let limit = paging.per_page.min(remaining);
    let page = if limit == 0 {
        store::EventPage {
            events: Vec::new(),
            next: None,
        }
    } else {
        let scope2 = scope.clone();
        blocking(state, move |s| {
            s.query_events(&scope2, &query, after.as_ref(), limit)
        })
        .await?
    };
    let served_now = served + page.events.len();
    let doc = output::query_document(&page.events, query_name, now);
    let mut resp = if xml {
        let body = crate::pipeline::query_document_xml(&doc)
            .map_err(|e| ApiError::NotAcceptable(format!("XML output is not available: {e}")))?;
        ([(header::CONTENT_TYPE, "application/xml")], body).into_response()
    } else {
        (
            [(header::CONTENT_TYPE, "application/ld+json")],
            doc.to_string(),
        )
            .into_response()
    };
    if let Some(next) = page
        .next
        .filter(|_| served_now < remaining.saturating_add(served))
    {
        let t = token::sign(
            &secret,
            &binding,
            json!({ "k": next.sort_key_ms, "s": next.seq, "n": served_now }),
            now,
        );
        add_next_link(&mut resp, resource, &paging, &t, now);
    }
    Ok(resp)
}

pub async fn events(
    State(state): State<AppState>,
    principal: Principal,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let paging = Paging::from_params(&state, params::parse(raw.as_deref(), &state.limits)?)?;
    let query = event_query(&paging.rest).map_err(ApiError::QueryParameter)?;
    run_query(
        &state,
        &principal,
        "/epcis/events",
        paging,
        query,
        "SimpleEventQuery",
        &headers,
    )
    .await
}

pub async fn event_by_id(
    State(state): State<AppState>,
    principal: Principal,
    Path(event_id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let query = EventQuery {
        eq_event_id: vec![event_id],
        ..EventQuery::default()
    };
    let scope = principal.scope();
    let page = blocking(&state, move |s| s.query_events(&scope, &query, None, 16)).await?;
    if page.events.is_empty() {
        return Err(ApiError::NoSuchResource("no such event".into()));
    }
    let doc = output::query_document(&page.events, "SimpleEventQuery", state.now_ms());
    if wants_xml(&headers) {
        let body = crate::pipeline::query_document_xml(&doc)
            .map_err(|e| ApiError::NotAcceptable(format!("XML output is not available: {e}")))?;
        return Ok(([(header::CONTENT_TYPE, "application/xml")], body).into_response());
    }
    Ok((
        [(header::CONTENT_TYPE, "application/ld+json")],
        doc.to_string(),
    )
        .into_response())
}

/// The browse resource named by the first path segment after `/epcis/`.
fn vocabulary_of(matched: &Uri) -> Result<(Vocabulary, &'static str, &'static str), ApiError> {
    let segment = matched
        .path()
        .trim_start_matches("/epcis/")
        .split('/')
        .next()
        .unwrap_or("");
    Ok(match segment {
        "eventTypes" => (Vocabulary::EventType, "eventType", "eventTypes"),
        "epcs" => (Vocabulary::Epc, "MATCH_anyEPC", "epcs"),
        "bizSteps" => (Vocabulary::BizStep, "EQ_bizStep", "bizSteps"),
        "bizLocations" => (Vocabulary::BizLocation, "EQ_bizLocation", "bizLocations"),
        "readPoints" => (Vocabulary::ReadPoint, "EQ_readPoint", "readPoints"),
        "dispositions" => (Vocabulary::Disposition, "EQ_disposition", "dispositions"),
        other => {
            return Err(ApiError::Internal(format!(
                "route {other} has no vocabulary"
            )));
        }
    })
}

/// `GET /epcis/{eventTypes,epcs,bizSteps,…}`: the values seen in the caller's events, paged.
pub async fn vocabulary_list(
    State(state): State<AppState>,
    principal: Principal,
    matched: Uri,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let (vocabulary, _, segment) = vocabulary_of(&matched)?;
    let paging = Paging::from_params(&state, params::parse(raw.as_deref(), &state.limits)?)?;
    let scope = principal.scope();
    let secret = blocking(&state, |s| s.server_secret()).await?;
    let now = state.now_ms();
    let resource = format!("/epcis/{segment}");
    let binding = token::Binding {
        scope: &scope,
        resource: &resource,
        params: &paging.rest,
    };
    let after = match &paging.token {
        Some(t) => Some(
            token::verify(&secret, &binding, t, now)?["a"]
                .as_str()
                .ok_or_else(bad_token)?
                .to_string(),
        ),
        None => None,
    };
    let limit = paging.per_page;
    let scope2 = scope.clone();
    let mut values = blocking(&state, move |s| {
        s.distinct_values(&scope2, vocabulary, after.as_deref(), limit + 1)
    })
    .await?;
    let more = values.len() > limit;
    values.truncate(limit);
    let mut resp = axum::Json(output::collection(&values)).into_response();
    if more && let Some(last) = values.last() {
        let t = token::sign(&secret, &binding, json!({ "a": last }), now);
        add_next_link(&mut resp, &resource, &paging, &t, now);
    }
    Ok(resp)
}

/// `GET /epcis/{…}/{value}`: the sub-resources of one value (only `events`).
pub async fn sub_resources(_principal: Principal) -> Response {
    let body: Value =
        json!({ "@context": output::EPCIS_CONTEXT, "type": "Collection", "member": ["events"] });
    axum::Json(body).into_response()
}

/// `GET /epcis/{…}/{value}/events`.
pub async fn vocabulary_events(
    State(state): State<AppState>,
    principal: Principal,
    matched: Uri,
    Path(value): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (_, param, segment) = vocabulary_of(&matched)?;
    let paging = Paging::from_params(&state, params::parse(raw.as_deref(), &state.limits)?)?;
    let resource = format!("/epcis/{segment}/{}/events", params::encode(&value));
    let mut all = vec![(param.to_string(), value)];
    all.extend(paging.rest.iter().cloned());
    let query = event_query(&all).map_err(ApiError::QueryParameter)?;
    run_query(
        &state,
        &principal,
        &resource,
        paging,
        query,
        "SimpleEventQuery",
        &headers,
    )
    .await
}
