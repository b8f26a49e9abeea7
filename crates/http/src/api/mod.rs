//! The zhiliang API beyond the EPCIS bindings, under `/api`: trace and recall, sampling and
//! statistics, reports and risk. One module per resource family; each declares its routes in
//! `router()` and documents them in `openapi_paths()`.

pub mod recall;
pub mod risk;
pub mod sampling;

use axum::Router;
use serde_json::{Map, Value};

use crate::AppState;

/// Every `/api` route.
pub fn router() -> Router<AppState> {
    Router::new()
        .merge(recall::router())
        .merge(sampling::router())
        .merge(risk::router())
}

/// Adds the `/api` operations to the OpenAPI `paths` object.
pub fn openapi_paths(paths: &mut Map<String, Value>) {
    recall::openapi_paths(paths);
    sampling::openapi_paths(paths);
    risk::openapi_paths(paths);
}
