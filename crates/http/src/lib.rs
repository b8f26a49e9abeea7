//! The only crate that knows HTTP: the GS1 EPCIS 2.0 REST bindings under `/epcis`, API keys,
//! RFC 7807 problem responses, the OpenAPI document, the home page.
//!
//! Entry point: [`app`] builds the router from an [`AppState`]; tests drive it in-process with
//! `tower::ServiceExt::oneshot`, the binary serves it.
//!
//! Architecture invariants:
//! - [`pipeline`], [`output`] and [`keys`] carry no HTTP types: the CLI calls them directly, so
//!   `zhiliang capture` and `POST /epcis/capture` validate and store identically.
//! - Every store call runs in `spawn_blocking` (see [`blocking`]).
//! - Every read passes the caller's [`store::Scope`], taken from [`auth::Principal`] only.

pub mod api;
pub mod auth;
pub mod error;
pub mod keys;
pub mod openapi;
pub mod output;
pub mod params;
pub mod pipeline;
mod routes;
pub mod token;

use std::sync::Arc;

use axum::Router;
use axum::http::HeaderValue;
use axum::response::Response;
use store::{Store, StoreError};

pub use error::ApiError;

/// Milliseconds since the Unix epoch.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// Limits on what comes from outside over HTTP.
#[derive(Debug, Clone)]
pub struct HttpLimits {
    /// Largest capture body in bytes (`GS1-EPCIS-Capture-File-Size-Limit`).
    pub capture_bytes_max: usize,
    /// Most events in one capture document (`GS1-EPCIS-Capture-Limit`).
    pub capture_events_max: usize,
    /// `perPage` when the client gives none.
    pub per_page_default: usize,
    /// Largest `perPage` accepted.
    pub per_page_max: usize,
    /// Longest query string accepted.
    pub query_string_bytes_max: usize,
    /// Most query parameters accepted.
    pub query_params_max: usize,
    /// Largest body of other requests (named queries).
    pub small_body_bytes_max: usize,
    /// Captures processed at once (each holds its document in memory); more wait their turn.
    pub captures_concurrent_max: usize,
}

impl Default for HttpLimits {
    fn default() -> Self {
        let store = store::Limits::default();
        HttpLimits {
            capture_bytes_max: 32 * 1024 * 1024,
            capture_events_max: store.capture_events_max,
            per_page_default: 30,
            per_page_max: store.page_size_max,
            query_string_bytes_max: 16 * 1024,
            query_params_max: 200,
            small_body_bytes_max: 256 * 1024,
            captures_concurrent_max: 4,
        }
    }
}

/// Everything a handler needs. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub clock: Clock,
    pub limits: HttpLimits,
    /// Bounds the memory held by captures in flight.
    pub capture_permits: Arc<tokio::sync::Semaphore>,
}

impl AppState {
    /// State with the system clock.
    pub fn new(store: Arc<dyn Store>, limits: HttpLimits) -> AppState {
        AppState::with_clock(store, limits, Arc::new(system_clock_ms))
    }

    pub fn with_clock(store: Arc<dyn Store>, limits: HttpLimits, clock: Clock) -> AppState {
        let permits = Arc::new(tokio::sync::Semaphore::new(
            limits.captures_concurrent_max.max(1),
        ));
        AppState {
            store,
            clock,
            limits,
            capture_permits: permits,
        }
    }

    /// Limits for one capture document.
    pub fn document_limits(&self) -> pipeline::DocumentLimits {
        pipeline::DocumentLimits {
            bytes_max: self.limits.capture_bytes_max,
            events_max: self.limits.capture_events_max,
        }
    }

    pub fn now_ms(&self) -> i64 {
        (self.clock)()
    }
}

/// The wall clock in milliseconds since the Unix epoch.
pub fn system_clock_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Run blocking store work off the async executor.
pub async fn blocking<T, F>(state: &AppState, f: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&dyn Store) -> Result<T, StoreError> + Send + 'static,
{
    let store = state.store.clone();
    match tokio::task::spawn_blocking(move || f(store.as_ref())).await {
        Ok(r) => r.map_err(ApiError::from),
        Err(e) => Err(ApiError::Internal(format!("blocking task failed: {e}"))),
    }
}

/// The router: `/`, `/health`, `/openapi.json` and the EPCIS REST bindings under `/epcis`.
pub fn app(state: AppState) -> Router {
    routes::router()
        .layer(axum::middleware::map_response(gs1_headers))
        .with_state(state)
}

/// The version of this server, for `GS1-Vendor-Version` and the home page.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

async fn gs1_headers(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    for (name, value) in [
        ("GS1-EPCIS-Version", "2.0.0"),
        ("GS1-EPCIS-Min", "2.0.0"),
        ("GS1-EPCIS-Max", "2.0.0"),
        ("GS1-CBV-Version", "2.0.0"),
        ("GS1-CBV-Min", "2.0.0"),
        ("GS1-CBV-Max", "2.0.0"),
    ] {
        h.insert(name, HeaderValue::from_static(value));
    }
    h.insert(
        "GS1-Vendor-Version",
        HeaderValue::from_static(concat!("zhiliang/", env!("CARGO_PKG_VERSION"))),
    );
    resp
}
