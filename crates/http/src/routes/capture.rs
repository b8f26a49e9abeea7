//! `POST /epcis/capture`, `GET /epcis/capture[/{id}]`, `POST /epcis/events`, `OPTIONS /epcis/capture`.
//!
//! Capture is synchronous: the 202 (with `Location`) is sent only after the store has made the
//! job durable, so a job that reports success is never lost.

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use store::ErrorBehaviour;

use crate::auth::Principal;
use crate::error::ApiError;
use crate::output::{format_time_ms, job_json};
use crate::params;
use crate::pipeline::{self, CaptureRequest, Format, Issue, PipelineError};
use crate::{AppState, blocking, token};
use epcis::document::DocumentKind;

const BEHAVIOUR_HEADER: &str = "GS1-Capture-Error-Behaviour";

pub async fn options(State(state): State<AppState>) -> Response {
    let mut resp = StatusCode::NO_CONTENT.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::ALLOW,
        HeaderValue::from_static("OPTIONS, GET, POST"),
    );
    h.insert(
        "GS1-EPCIS-Capture-Limit",
        HeaderValue::from(state.limits.capture_events_max),
    );
    h.insert(
        "GS1-EPCIS-Capture-File-Size-Limit",
        HeaderValue::from(state.limits.capture_bytes_max),
    );
    h.insert(
        BEHAVIOUR_HEADER,
        HeaderValue::from_static("rollback, proceed"),
    );
    resp
}

fn behaviour(headers: &HeaderMap) -> Result<ErrorBehaviour, ApiError> {
    let Some(v) = headers.get(BEHAVIOUR_HEADER) else {
        return Ok(ErrorBehaviour::Rollback);
    };
    match v.to_str().map(|s| s.trim().to_ascii_lowercase()).as_deref() {
        Ok("rollback") => Ok(ErrorBehaviour::Rollback),
        Ok("proceed") => Ok(ErrorBehaviour::Proceed),
        _ => Err(ApiError::validation(
            BEHAVIOUR_HEADER,
            "must be rollback or proceed",
        )),
    }
}

fn content_type(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
}

/// Read a body of at most `max` bytes. A declared `Content-Length` over the limit is refused before
/// anything is read; a streamed (chunked or lying) body is cut off at the limit.
pub(crate) async fn read_body(
    headers: &HeaderMap,
    body: Body,
    max: usize,
    too_large: impl Fn(String) -> ApiError,
) -> Result<axum::body::Bytes, ApiError> {
    if let Some(len) = headers.get(header::CONTENT_LENGTH) {
        let len: u64 = len
            .to_str()
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| ApiError::validation("Content-Length", "must be a number"))?;
        if len > max as u64 {
            return Err(too_large(format!(
                "the body is {len} bytes; the limit is {max} bytes"
            )));
        }
    }
    match axum::body::to_bytes(body, max).await {
        Ok(b) => Ok(b),
        Err(e) => {
            let is_limit = std::error::Error::source(&e)
                .is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
            if is_limit {
                Err(too_large(format!(
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

pub async fn capture(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    principal.require_capture()?;
    let behaviour = behaviour(&headers)?;
    let media_type = content_type(&headers).map(str::to_string);
    if let Some(mt) = &media_type {
        Format::detect(Some(mt), b"").map_err(|e| ApiError::UnsupportedMediaType(e.to_string()))?;
    }
    let bytes = read_body(
        &headers,
        body,
        state.limits.capture_bytes_max,
        ApiError::CaptureLimitExceeded,
    )
    .await?;
    let _permit = state
        .capture_permits
        .clone()
        .acquire_owned()
        .await
        .map_err(|e| ApiError::Internal(format!("capture semaphore closed: {e}")))?;
    let now_ms = state.now_ms();
    let req = CaptureRequest {
        id: pipeline::new_capture_id(now_ms),
        owner: principal.org.clone(),
        now_ms,
        behaviour,
        events_max: state.limits.capture_events_max,
    };
    let store = state.store.clone();
    let limits = state.document_limits();
    let job = tokio::task::spawn_blocking(move || {
        let format = Format::detect(media_type.as_deref(), &bytes).expect("checked above");
        let doc = pipeline::parse_document(&bytes, format, &limits)?;
        drop(bytes);
        if doc.kind == DocumentKind::SingleEvent {
            return Err(PipelineError::Invalid(vec![Issue {
                pointer: "/type".into(),
                rule: "capture takes an EPCISDocument or EPCISQueryDocument; send one event to /epcis/events".into(),
            }]));
        }
        pipeline::capture(store.as_ref(), &doc, &req)
    })
    .await
    .map_err(|e| ApiError::Internal(format!("capture task failed: {e}")))??;
    let location = format!("/epcis/capture/{}", job.id);
    let mut resp = (StatusCode::ACCEPTED, axum::Json(job_json(&job))).into_response();
    resp.headers_mut().insert(
        header::LOCATION,
        HeaderValue::from_str(&location).expect("job ids are URL-safe"),
    );
    Ok(resp)
}

/// `POST /epcis/events`: one event (JSON), stored at once; 201 with its location.
pub async fn post_event(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    principal.require_capture()?;
    if let Some(mt) = content_type(&headers) {
        match Format::detect(Some(mt), b"") {
            Ok(Format::Json) => {}
            _ => {
                return Err(ApiError::UnsupportedMediaType(format!(
                    "{mt}: send one event as application/json"
                )));
            }
        }
    }
    let bytes = read_body(
        &headers,
        body,
        state.limits.capture_bytes_max,
        ApiError::CaptureLimitExceeded,
    )
    .await?;
    let now_ms = state.now_ms();
    let req = CaptureRequest {
        id: pipeline::new_capture_id(now_ms),
        owner: principal.org.clone(),
        now_ms,
        behaviour: ErrorBehaviour::Rollback,
        events_max: 1,
    };
    let store = state.store.clone();
    let limits = state.document_limits();
    let event_id = tokio::task::spawn_blocking(move || {
        let doc = pipeline::parse_document(&bytes, Format::Json, &limits)?;
        if doc.kind != DocumentKind::SingleEvent {
            return Err(PipelineError::Invalid(vec![Issue {
                pointer: "/type".into(),
                rule: "must be an EPCIS event type; send documents to /epcis/capture".into(),
            }]));
        }
        let doc = pipeline::wrap_single_event(doc, &format_time_ms(now_ms));
        let capture = pipeline::prepare(&doc, &req).map_err(pipeline::event_relative)?;
        let id = capture
            .events
            .first()
            .map(|e| e.event_id.clone())
            .unwrap_or_default();
        store.capture(capture)?;
        Ok(id)
    })
    .await
    .map_err(|e| ApiError::Internal(format!("capture task failed: {e}")))??;
    let location = format!("/epcis/events/{}", params::encode(&event_id));
    let mut resp = (
        StatusCode::CREATED,
        axum::Json(json!({ "eventID": event_id })),
    )
        .into_response();
    resp.headers_mut().insert(
        header::LOCATION,
        HeaderValue::from_str(&location).expect("percent-encoded"),
    );
    Ok(resp)
}

pub async fn get_job(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let scope = principal.scope();
    let job = blocking(&state, move |s| s.capture_job(&scope, &id)).await?;
    // Another organisation's job is reported exactly like a missing one.
    let job = job.ok_or_else(|| ApiError::NoSuchResource("no such capture job".into()))?;
    Ok(axum::Json(job_json(&job)).into_response())
}

pub async fn list_jobs(
    State(state): State<AppState>,
    principal: Principal,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let all = params::parse(raw.as_deref(), &state.limits)?;
    let paging = super::events::Paging::from_params(&state, all)?;
    let scope = principal.scope();
    let secret = blocking(&state, |s| s.server_secret()).await?;
    let now = state.now_ms();
    let resource = "/epcis/capture";
    let binding = token::Binding {
        scope: &scope,
        resource,
        params: &paging.rest,
    };
    let before = match &paging.token {
        Some(t) => Some(
            token::verify(&secret, &binding, t, now)?["b"]
                .as_str()
                .map(str::to_string)
                .ok_or_else(|| {
                    ApiError::QueryParameter(
                        "nextPageToken: not valid for this query (or expired)".into(),
                    )
                })?,
        ),
        None => None,
    };
    let limit = paging.per_page;
    let scope2 = scope.clone();
    let mut jobs = blocking(&state, move |s| {
        s.capture_jobs(&scope2, before.as_deref(), limit + 1)
    })
    .await?;
    let more = jobs.len() > limit;
    jobs.truncate(limit);
    let body: Vec<Value> = jobs.iter().map(job_json).collect();
    let mut resp = axum::Json(body).into_response();
    if more && let Some(last) = jobs.last() {
        let t = token::sign(&secret, &binding, json!({ "b": last.id }), now);
        super::events::add_next_link(&mut resp, resource, &paging, &t, now);
    }
    Ok(resp)
}
