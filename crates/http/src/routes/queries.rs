//! Named queries under `/epcis/queries`: records in the collection `queries`, owned by the caller's
//! organisation and private to it (record id `{org}/{name}`), so names never collide across
//! organisations and a name taken elsewhere is invisible. Results are computed in the caller's
//! scope at the time of each call.

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use store::NewRecord;

use super::capture::read_body;
use super::events::{Paging, add_next_link, run_query};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::params;
use crate::pipeline::named_query;
use crate::{AppState, blocking, token};

pub const COLLECTION: &str = "queries";
const NAME_LEN_MAX: usize = 128;

fn check_name(name: &str) -> Result<(), ApiError> {
    let ok = !name.is_empty()
        && name.len() <= NAME_LEN_MAX
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(ApiError::validation(
            "/name",
            format!("must be 1 to {NAME_LEN_MAX} characters from A-Z a-z 0-9 - _ ."),
        ))
    }
}

fn record_id(principal: &Principal, name: &str) -> String {
    format!("{}/{name}", principal.org)
}

pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let bytes = read_body(
        &headers,
        body,
        state.limits.small_body_bytes_max,
        ApiError::PayloadTooLarge,
    )
    .await?;
    let v: Value = serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::validation("", format!("the body must be JSON: {e}")))?;
    let name = v
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::validation("/name", "required: a string"))?
        .to_string();
    check_name(&name)?;
    let query = v
        .get("query")
        .ok_or_else(|| ApiError::validation("/query", "required: an object"))?;
    named_query(query).map_err(ApiError::QueryParameter)?;
    let record = NewRecord {
        collection: COLLECTION.into(),
        id: record_id(&principal, &name),
        owner: Some(principal.org.clone()),
        updated_ms: state.now_ms(),
        body: json!({ "name": name, "query": query }),
    };
    blocking(&state, move |s| s.put_record(record, Some(0)))
        .await
        .map_err(|e| match e {
            ApiError::AlreadyExists(_) => {
                ApiError::AlreadyExists(format!("a query named {name:?} exists"))
            }
            other => other,
        })?;
    let mut resp = StatusCode::CREATED.into_response();
    let location = format!(
        "/epcis/queries/{}",
        params::encode(v["name"].as_str().unwrap_or_default())
    );
    resp.headers_mut().insert(
        header::LOCATION,
        HeaderValue::from_str(&location).expect("encoded"),
    );
    Ok(resp)
}

async fn load(state: &AppState, principal: &Principal, name: &str) -> Result<Value, ApiError> {
    let scope = principal.own_scope();
    let id = record_id(principal, name);
    let rec = blocking(state, move |s| s.get_record(&scope, COLLECTION, &id)).await?;
    rec.map(|r| r.body)
        .ok_or_else(|| ApiError::NoSuchResource("no such query".into()))
}

pub async fn get(
    State(state): State<AppState>,
    principal: Principal,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    Ok(axum::Json(load(&state, &principal, &name).await?).into_response())
}

pub async fn delete(
    State(state): State<AppState>,
    principal: Principal,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let scope = principal.own_scope();
    let id = record_id(&principal, &name);
    if blocking(&state, move |s| s.delete_record(&scope, COLLECTION, &id)).await? {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(ApiError::NoSuchResource("no such query".into()))
    }
}

pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let paging = Paging::from_params(&state, params::parse(raw.as_deref(), &state.limits)?)?;
    let scope = principal.own_scope();
    let secret = blocking(&state, |s| s.server_secret()).await?;
    let now = state.now_ms();
    let resource = "/epcis/queries";
    let binding = token::Binding {
        scope: &scope,
        resource,
        params: &paging.rest,
    };
    let prefix = format!("{}/", principal.org);
    let after = match &paging.token {
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
    let limit = paging.per_page;
    let scope2 = scope.clone();
    let mut recs = blocking(&state, move |s| {
        s.list_records(&scope2, COLLECTION, after.as_deref(), limit + 1)
    })
    .await?;
    recs.retain(|r| r.id.starts_with(&prefix));
    let more = recs.len() > limit;
    recs.truncate(limit);
    let body: Vec<Value> = recs.iter().map(|r| r.body.clone()).collect();
    let mut resp = axum::Json(body).into_response();
    if more && let Some(last) = recs.last() {
        let t = token::sign(&secret, &binding, json!({ "a": last.id }), now);
        add_next_link(&mut resp, resource, &paging, &t, now);
    }
    Ok(resp)
}

pub async fn events(
    State(state): State<AppState>,
    principal: Principal,
    Path(name): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let paging = Paging::from_params(&state, params::parse(raw.as_deref(), &state.limits)?)?;
    if let Some((k, _)) = paging.rest.first() {
        return Err(ApiError::QueryParameter(format!(
            "{k}: a named query takes only perPage and nextPageToken"
        )));
    }
    let def = load(&state, &principal, &name).await?;
    let query = named_query(&def["query"]).map_err(ApiError::QueryParameter)?;
    let resource = format!("/epcis/queries/{}/events", params::encode(&name));
    run_query(
        &state, &principal, &resource, paging, query, &name, &headers,
    )
    .await
}
