//! Master data: organisations, locations, products. JSON or CSV in, JSON or CSV out; EPCIS
//! `epcisHeader.epcisMasterData` vocabularies imported at `POST /api/masterdata/epcis`.

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use store::{NewRecord, Role, Scope, Store, StoreError};

use super::{
    BODY_MAX, ROWS_MAX, check_text, csv_line, media_type, parse_csv, query_map, read_body,
    record_page, require, typed_response,
};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::{AppState, blocking};

pub const ORGANISATIONS: &str = "masterdata.organisations";
pub const LOCATIONS: &str = "masterdata.locations";
pub const PRODUCTS: &str = "masterdata.products";

const WRITERS: &[Role] = &[Role::Enterprise, Role::Regulator, Role::Admin];

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Organisations,
    Locations,
    Products,
}

impl Kind {
    fn parse(s: &str) -> Option<Kind> {
        match s {
            "organisations" => Some(Kind::Organisations),
            "locations" => Some(Kind::Locations),
            "products" => Some(Kind::Products),
            _ => None,
        }
    }
    pub fn collection(self) -> &'static str {
        match self {
            Kind::Organisations => ORGANISATIONS,
            Kind::Locations => LOCATIONS,
            Kind::Products => PRODUCTS,
        }
    }
    /// Fields of a record, the key first.
    pub fn fields(self) -> &'static [&'static str] {
        match self {
            Kind::Organisations => &[
                "id",
                "name",
                "gln",
                "uscc",
                "contact",
                "region",
                "webhook_url",
                "webhook_secret",
            ],
            Kind::Locations => &["id", "name", "organisation", "address", "region"],
            Kind::Products => &["gtin", "name", "brand", "category", "unit"],
        }
    }
}

/// A GS1 mod-10 check digit over all digits but the last.
fn gs1_check_ok(digits: &str) -> bool {
    let b = digits.as_bytes();
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let n = b.len();
    let mut sum = 0u32;
    for (i, d) in b[..n - 1].iter().rev().enumerate() {
        let v = u32::from(d - b'0');
        sum += if i % 2 == 0 { v * 3 } else { v };
    }
    (10 - sum % 10) % 10 == u32::from(b[n - 1] - b'0')
}

/// A GTIN-8/12/13/14 as GTIN-14, check digit verified.
pub fn gtin14(s: &str) -> Option<String> {
    let s = s.trim();
    if ![8, 12, 13, 14].contains(&s.len()) || !gs1_check_ok(s) {
        return None;
    }
    Some(format!("{s:0>14}"))
}

/// The GTIN-14 inside a GS1 identifier (class, instance, Digital Link), if any.
pub fn gtin_of(id: &str) -> Option<String> {
    let dl = gs1::normalize_id(id);
    let rest = dl.split("/01/").nth(1)?;
    let g = rest.split('/').next()?;
    (g.len() == 14 && g.bytes().all(|b| b.is_ascii_digit())).then(|| g.to_string())
}

/// Validate one record object and return (key, body).
pub fn validate(kind: Kind, v: &Value, at: &str) -> Result<(String, Value), ApiError> {
    let m = v
        .as_object()
        .ok_or_else(|| ApiError::validation(at, "must be an object"))?;
    let mut out = Map::new();
    for (k, val) in m {
        let p = format!("{at}/{k}");
        let s = match val {
            Value::Null => continue,
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Object(_) if k == "attributes" => {
                out.insert(k.clone(), val.clone());
                continue;
            }
            _ => return Err(ApiError::validation(&p, "must be a string")),
        };
        if !kind.fields().contains(&k.as_str()) {
            return Err(ApiError::validation(
                &p,
                format!("unknown field; allowed: {}", kind.fields().join(", ")),
            ));
        }
        if s.is_empty() {
            continue;
        }
        check_text(&p, &s)?;
        out.insert(k.clone(), Value::String(s));
    }
    let key_field = kind.fields()[0];
    let key = out
        .get(key_field)
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::validation(&format!("{at}/{key_field}"), "required"))?
        .to_string();
    let key = match kind {
        Kind::Products if key.bytes().all(|b| b.is_ascii_digit()) => {
            gtin14(&key).ok_or_else(|| {
                ApiError::validation(
                    &format!("{at}/gtin"),
                    "must be a GTIN-8/12/13/14 with a valid check digit",
                )
            })?
        }
        Kind::Products => gtin_of(&key).unwrap_or_else(|| gs1::normalize_id(&key)),
        Kind::Locations => gs1::normalize_id(&key),
        Kind::Organisations => {
            store::OrgId::parse(&key).map_err(|e| ApiError::validation(&format!("{at}/id"), e))?;
            key
        }
    };
    if let Some(g) = out.get("gln").and_then(Value::as_str)
        && (g.len() != 13 || !gs1_check_ok(g))
    {
        return Err(ApiError::validation(
            &format!("{at}/gln"),
            "must be 13 digits with a valid GS1 check digit",
        ));
    }
    if let Some(u) = out.get("webhook_url").and_then(Value::as_str)
        && !(u.starts_with("https://") || u.starts_with("http://"))
    {
        return Err(ApiError::validation(
            &format!("{at}/webhook_url"),
            "must be an http(s) URL",
        ));
    }
    out.insert(key_field.into(), Value::String(key.clone()));
    Ok((key, Value::Object(out)))
}

fn csv_records(kind: Kind, text: &str) -> Result<Vec<Value>, ApiError> {
    let rows = parse_csv(text, ROWS_MAX + 1).map_err(|e| ApiError::validation("", e))?;
    let Some((head, rest)) = rows.split_first() else {
        return Ok(Vec::new());
    };
    if rest.len() > ROWS_MAX {
        return Err(ApiError::PayloadTooLarge(format!(
            "more than {ROWS_MAX} rows"
        )));
    }
    let head: Vec<String> = head.iter().map(|h| h.trim().to_ascii_lowercase()).collect();
    if let Some(h) = head.iter().find(|h| !kind.fields().contains(&h.as_str())) {
        return Err(ApiError::validation(
            &format!("/header/{h}"),
            format!("unknown column; allowed: {}", kind.fields().join(", ")),
        ));
    }
    Ok(rest
        .iter()
        .map(|r| {
            let m: Map<String, Value> = head
                .iter()
                .zip(r)
                .map(|(h, v)| (h.clone(), Value::String(v.trim().to_string())))
                .collect();
            Value::Object(m)
        })
        .collect())
}

/// The master data in the `epcisMasterData` of an EPCIS document, as (kind, record) pairs.
pub fn from_epcis(doc: &Value) -> Result<Vec<(Kind, Value)>, ApiError> {
    let list = doc
        .pointer("/epcisHeader/epcisMasterData/vocabularyList")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            ApiError::validation(
                "/epcisHeader/epcisMasterData/vocabularyList",
                "required: an array of vocabularies",
            )
        })?;
    let mut out = Vec::new();
    for (i, voc) in list.iter().enumerate() {
        let ty = voc["type"].as_str().unwrap_or("").to_ascii_lowercase();
        let kind = if ty.ends_with("businesslocation")
            || ty.ends_with("readpoint")
            || ty.ends_with("location")
        {
            Kind::Locations
        } else if ty.ends_with("epcclass") {
            Kind::Products
        } else if ty.ends_with("party")
            || ty.ends_with("organization")
            || ty.ends_with("organisation")
        {
            Kind::Organisations
        } else {
            continue;
        };
        let elems = voc["vocabularyElementList"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for (j, el) in elems.iter().enumerate() {
            let at = format!(
                "/epcisHeader/epcisMasterData/vocabularyList/{i}/vocabularyElementList/{j}"
            );
            let id = el["id"]
                .as_str()
                .ok_or_else(|| ApiError::validation(&format!("{at}/id"), "required"))?;
            let mut attrs = Map::new();
            for a in el["attributes"].as_array().into_iter().flatten() {
                if let Some(aid) = a["id"].as_str() {
                    let short = aid.rsplit(['#', ':', '/']).next().unwrap_or(aid);
                    attrs.insert(short.to_string(), a["attribute"].clone());
                }
            }
            let text = |names: &[&str]| {
                names
                    .iter()
                    .find_map(|n| attrs.get(*n).and_then(Value::as_str))
                    .map(str::to_string)
            };
            let mut rec = Map::new();
            let key = match kind {
                Kind::Organisations => id
                    .rsplit([':', '/'])
                    .next()
                    .unwrap_or(id)
                    .chars()
                    .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                    .collect(),
                _ => id.to_string(),
            };
            rec.insert(kind.fields()[0].into(), json!(key));
            if let Some(n) = text(&[
                "name",
                "descriptionShort",
                "tradeItemDescription",
                "regulatedProductName",
            ]) {
                rec.insert("name".into(), json!(n));
            }
            if kind == Kind::Locations {
                let addr: Vec<String> = [
                    "streetAddressOne",
                    "city",
                    "state",
                    "postalCode",
                    "countryCode",
                ]
                .iter()
                .filter_map(|k| attrs.get(*k).and_then(Value::as_str).map(str::to_string))
                .collect();
                if !addr.is_empty() {
                    rec.insert("address".into(), json!(addr.join(", ")));
                }
                if let Some(o) = text(&["owning_party"]) {
                    rec.insert("organisation".into(), json!(o));
                }
            }
            if kind == Kind::Products
                && let Some(u) = text(&["netContentUom", "unitOfMeasure"])
            {
                rec.insert("unit".into(), json!(u));
            }
            rec.insert("attributes".into(), Value::Object(attrs));
            let (_, v) = validate(kind, &Value::Object(rec), &at)?;
            out.push((kind, v));
        }
    }
    Ok(out)
}

pub(super) async fn import(
    State(state): State<AppState>,
    p: Principal,
    Path(kind): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    require(&p, WRITERS, "write master data")?;
    let bytes = read_body(body, BODY_MAX).await?;
    let mt = media_type(&headers);
    let records: Vec<(Kind, Value)> = if kind == "epcis" {
        let doc: Value = serde_json::from_slice(&bytes).map_err(|e| {
            ApiError::validation("", format!("the body must be a JSON EPCIS document: {e}"))
        })?;
        from_epcis(&doc)?
    } else {
        let k = Kind::parse(&kind).ok_or_else(|| {
            ApiError::NoSuchResource(format!(
                "{kind}: no such master data (organisations, locations, products, epcis)"
            ))
        })?;
        let raw: Vec<Value> = if mt == "text/csv" {
            let text = String::from_utf8(bytes)
                .map_err(|_| ApiError::validation("", "the CSV must be UTF-8"))?;
            csv_records(k, &text)?
        } else if mt == "application/json" {
            match serde_json::from_slice::<Value>(&bytes)
                .map_err(|e| ApiError::validation("", format!("the body must be JSON: {e}")))?
            {
                Value::Array(a) => a,
                v @ Value::Object(_) => vec![v],
                _ => {
                    return Err(ApiError::validation(
                        "",
                        "must be an object or an array of objects",
                    ));
                }
            }
        } else {
            return Err(ApiError::UnsupportedMediaType(format!(
                "Content-Type: must be application/json or text/csv, got {mt}"
            )));
        };
        if raw.len() > ROWS_MAX {
            return Err(ApiError::PayloadTooLarge(format!(
                "more than {ROWS_MAX} records"
            )));
        }
        raw.iter()
            .enumerate()
            .map(|(i, v)| validate(k, v, &format!("/{i}")).map(|(_, v)| (k, v)))
            .collect::<Result<_, _>>()?
    };
    let owner = p.org.clone();
    let now = state.now_ms();
    let n = records.len();
    blocking(&state, move |s| {
        for (kind, body) in records {
            let id = body[kind.fields()[0]]
                .as_str()
                .unwrap_or_default()
                .to_string();
            s.put_record(
                NewRecord {
                    collection: kind.collection().into(),
                    id,
                    owner: Some(owner.clone()),
                    updated_ms: now,
                    body,
                },
                None,
            )?;
        }
        Ok(())
    })
    .await?;
    Ok((StatusCode::OK, axum::Json(json!({ "imported": n }))).into_response())
}

/// One record by key (all owners).
pub fn lookup(s: &dyn Store, kind: Kind, key: &str) -> Result<Option<Value>, StoreError> {
    Ok(s.get_record(&Scope::All, kind.collection(), key)?
        .map(|r| r.body))
}

pub(super) async fn list(
    State(state): State<AppState>,
    p: Principal,
    Path(kind): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    require(
        &p,
        &[Role::Enterprise, Role::Regulator, Role::Admin],
        "read master data",
    )?;
    let mut q = query_map(
        &state,
        raw.as_deref(),
        &["format", "perPage", "nextPageToken"],
    )?;
    let k = Kind::parse(&kind)
        .ok_or_else(|| ApiError::NoSuchResource(format!("{kind}: no such master data")))?;
    let accept_csv = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/csv"));
    let format = q.remove("format");
    let csv = match format.as_deref() {
        Some("csv") => true,
        Some("json") => false,
        None => accept_csv,
        Some(_) => {
            return Err(ApiError::QueryParameter(
                "format: must be json or csv".into(),
            ));
        }
    };
    // The format is part of what a page token is bound to.
    if let Some(f) = format {
        q.insert("format".into(), f);
    }
    let keep: std::sync::Arc<super::Keep> = std::sync::Arc::new(|_, r| {
        let mut v = r.body.clone();
        if let Some(m) = v.as_object_mut() {
            m.remove("webhook_secret");
        }
        Ok(Some(v))
    });
    let mut page = record_page(
        &state,
        &p,
        &format!("/api/masterdata/{kind}"),
        q,
        k.collection(),
        keep,
    )
    .await?;
    if !csv {
        let mut resp = axum::Json(Value::Array(std::mem::take(&mut page.items))).into_response();
        page.headers(&mut resp);
        return Ok(resp);
    }
    let rows = &page.items;
    let cols: Vec<&str> = k
        .fields()
        .iter()
        .copied()
        .filter(|f| *f != "webhook_secret")
        .collect();
    let mut out = csv_line(&cols.iter().map(|c| c.to_string()).collect::<Vec<_>>());
    for r in rows {
        let fields: Vec<String> = cols
            .iter()
            .map(|c| r[*c].as_str().unwrap_or("").to_string())
            .collect();
        out.push_str(&csv_line(&fields));
    }
    let mut resp = typed_response("text/csv; charset=utf-8", out);
    page.headers(&mut resp);
    Ok(resp)
}
