//! `/` (a small HTML page), `/health`, `/openapi.json`, `/epcis` (top-level resources).

use axum::extract::State;
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use serde_json::json;

use crate::auth::{MaybePrincipal, Principal};
use crate::error::ApiError;
use crate::{AppState, blocking, openapi, output};

pub async fn health(State(state): State<AppState>) -> Response {
    axum::Json(
        json!({ "status": "ok", "backend": state.store.backend_name(), "version": crate::VERSION }),
    )
    .into_response()
}

pub async fn openapi() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        openapi::document().to_string(),
    )
        .into_response()
}

pub async fn top_level(_principal: Principal) -> Response {
    let members = [
        "capture",
        "events",
        "eventTypes",
        "epcs",
        "bizSteps",
        "bizLocations",
        "readPoints",
        "dispositions",
        "queries",
    ];
    let members: Vec<String> = members.iter().map(|s| s.to_string()).collect();
    axum::Json(output::collection(&members)).into_response()
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The home page. Counts are shown only for the caller's own scope (with a key): an anonymous
/// visitor learns nothing about how much any organisation has captured.
pub async fn home(
    State(state): State<AppState>,
    MaybePrincipal(principal): MaybePrincipal,
) -> Result<Response, ApiError> {
    let holds = match principal {
        Some(p) => {
            let scope = p.scope();
            let n = blocking(&state, move |s| s.count_events(&scope)).await?;
            format!(
                "<p>Your key ({role} of <code>{org}</code>) sees <strong>{n}</strong> events.</p>",
                role = p.role.as_str(),
                org = escape(p.org.as_str())
            )
        }
        None => "<p>It holds supply-chain events captured by enterprises; each organisation sees only its own, \
                 regulators see all. Call the API with <code>Authorization: Bearer &lt;key&gt;</code> to see \
                 what your key can see.</p>"
            .to_string(),
    };
    let page = format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>zhiliang</title>
<style>body{{font-family:system-ui,sans-serif;max-width:44rem;margin:2rem auto;padding:0 1rem;line-height:1.5}}code{{background:#f3f3f3;padding:0 .2em}}</style>
</head><body>
<h1>zhiliang</h1>
<p>A GS1 EPCIS 2.0 traceability repository (version {version}, {backend} store).</p>
{holds}
<ul>
<li><a href="/epcis">/epcis</a>: the EPCIS 2.0 REST bindings (capture, events, browse, named queries)</li>
<li><a href="/openapi.json">/openapi.json</a>: the OpenAPI 3.1 description of every route</li>
<li><a href="/health">/health</a>: health check</li>
</ul>
<p>Capture: <code>curl -H 'Authorization: Bearer KEY' -H 'Content-Type: application/ld+json' --data-binary @doc.jsonld {{server}}/epcis/capture</code></p>
</body></html>
"#,
        version = crate::VERSION,
        backend = escape(state.store.backend_name()),
    );
    Ok(Html(page).into_response())
}
